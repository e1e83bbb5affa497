"""What a model folder holds, for the rules that look inside it (python's model.py, vLLM's
model.json, an ONNX graph, warmup data files, a python environment archive): which files each
version folder has, and a local path to read any file of the folder. Two views: a folder on disk
(lint), and the folder the manifest will produce (validate and compile), read from the versions'
local sources, `files:` and warmup `file:` sources before anything is written. A rule reads
through these views only, so that lint and validate run the same check on the same content.

A version whose content cannot be known here (a URL source) answers None and is not checked.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional

MAX_FILES = 50_000


def walk_files(root) -> set:
    """Every file under `root` (POSIX paths relative to it), at most MAX_FILES of them."""
    out: set = set()
    for here, dirs, names in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(here, root).replace(os.sep, "/")
        for name in names:
            out.add(name if rel == "." else f"{rel}/{name}")
            if len(out) >= MAX_FILES:
                return out
    return out


class ModelFolder:
    """Base: nothing is known."""

    def version_files(self, version: int) -> Optional[set]:
        """POSIX paths relative to the version folder, or None when unknown."""
        return None

    def version_path(self, version: int, rel: str) -> Optional[Path]:
        """A local path to read `rel` of a version folder from, or None."""
        return None

    def has(self, version: int, rel: str) -> Optional[bool]:
        """Whether the version folder holds the file `rel`; None when unknown. One stat, where
        version_files would list the whole folder (a model's weights can be thousands of files)."""
        files = self.version_files(version)
        return None if files is None else rel in files

    def version_doc_path(self, version: int) -> tuple:
        """Where a problem about the version folder is reported (relative to the model)."""
        return ()

    def onnx_file(self, version: int, filename: str) -> Optional[Path]:
        """The version's ONNX graph: the file `filename`, or `filename`/model.onnx (a large model
        is a folder holding model.onnx and its external weights); None when neither is there."""
        return self.version_path(version, filename) or self.version_path(version, f"{filename}/model.onnx")

    def onnx_graph(self, version: int, filename: str):
        """What the ONNX rule reads of the version's graph (onnx_model.read_graph's answer: its
        inputs and outputs, or a Note saying why not), None when there is no such file. A look of
        its own rather than a path the rule reads, so that the result cache can check a cached
        verdict against the graph itself when the file's stamps changed (a fresh checkout)."""
        from compiler.rules import onnx_model  # noqa: PLC0415 - the rule's module; the folder is made before any rule runs

        path = self.onnx_file(version, filename)
        return None if path is None else onnx_model.read_graph(path)

    def model_file(self, rel: str) -> Optional[Path]:
        """A local path to read the file or folder `rel` (POSIX, relative to the model folder:
        `1/model.py`, `warmup/x.bin`, `env.tar.gz`) from, or None when it is not there or unknown."""
        head, _, inner = rel.partition("/")
        if head.isdigit() and inner:
            return self.version_path(int(head), inner)
        return None


class DiskFolder(ModelFolder):
    """An existing model folder (lint): <folder>/<version>/..."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self._cache: dict = {}

    def version_files(self, version):
        if version not in self._cache:
            root = self.folder / str(version)
            self._cache[version] = walk_files(root) if root.is_dir() else None
        return self._cache[version]

    def version_path(self, version, rel):
        path = self.folder / str(version) / rel
        return path if path.is_file() else None

    def has(self, version, rel):
        if not (self.folder / str(version)).is_dir():
            return None
        return (self.folder / str(version) / rel).is_file()

    def model_file(self, rel):
        path = self.folder.joinpath(*rel.split("/"))
        return path if path.exists() else None


class ManifestFolder(ModelFolder):
    """The folder a manifest model will compile to: a version's local source is either a file
    (written under `default_model_filename`) or a folder (copied as the version folder)."""

    def __init__(self, model):
        self.model = model
        self._cache: dict = {}

    def _source(self, version):
        spec = self.model.versions.get(version)
        if spec is None or spec.remote or spec.local_path is None:
            return None, None
        return spec, spec.local_path

    def version_files(self, version):
        if version in self._cache:
            return self._cache[version]
        _spec, local = self._source(version)
        files = None
        if local is not None:
            if local.is_file():
                files = {self.model.default_model_filename}
            elif local.is_dir():
                files = {f for f in walk_files(local) if f.split("/")[0] not in ("__pycache__", ".git")}
        elif version in self.model.versions and not self.model.versions[version].source:
            files = set()  # an ensemble's empty version folder
        self._cache[version] = files
        return files

    def version_path(self, version, rel):
        _spec, local = self._source(version)
        if local is None:
            return None
        if local.is_file():
            return local if rel == self.model.default_model_filename else None
        path = local / rel
        return path if path.is_file() else None

    def has(self, version, rel):
        _spec, local = self._source(version)
        if local is None:
            files = self.version_files(version)
            return None if files is None else rel in files
        try:  # one stat tells file from folder (asked once per version of every model)
            mode = os.stat(local).st_mode
        except (OSError, ValueError):
            return None
        if stat.S_ISREG(mode):
            return rel == self.model.default_model_filename
        return os.path.isfile(os.path.join(local, rel)) if stat.S_ISDIR(mode) else None

    def model_file(self, rel):
        head, _, inner = rel.partition("/")
        if head.isdigit() and inner:
            return super().model_file(rel)
        if head == "warmup" and inner:
            for warmup in self.model.warmups:  # a literal `data` sample is written by the compiler: None
                if warmup.file_name == inner and warmup.local_path is not None:
                    return Path(warmup.local_path)
            return None
        spec = self.model.files.get(rel)
        if spec is not None and spec.local_path is not None and spec.local_path.exists():
            return spec.local_path
        return None

    def version_doc_path(self, version):
        spec = self.model.versions.get(version)
        if spec is not None and spec.doc_path:
            return ("versions", spec.doc_path[-1])
        return ()


def disk_path(ctx) -> Optional[str]:
    """The model folder's path on disk when lint looks at one, else None (the manifest's folder
    does not exist yet): for the file contents only a folder on disk can show."""
    folder = getattr(ctx, "model_folder", None)
    return str(folder.folder) if isinstance(folder, DiskFolder) else None

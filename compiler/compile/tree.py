"""Stage 3: the model repository as a list of entries, before anything is written.

Building the tree reads no file contents (except raw warmup files given as data), so it
is cheap enough for `validate` to run it too and report every problem up front.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compiler.compile.render import render_config
from compiler.compile.warmup import encode
from compiler.errors import Problem

# An empty version folder (an ensemble's) cannot exist on an object store, where folders
# are only prefixes of files; this zero-byte file keeps it present everywhere.
KEEP_FILE = ".triton-gitops-keep"
# Never copied from a source folder: byte-code caches and VCS metadata are not model files.
SKIPPED_NAMES = {"__pycache__", ".git", ".DS_Store"}

CONFIG, VERSION, FILE, WARMUP = "config", "version", "file", "warmup"


@dataclass(frozen=True)
class Entry:
    path: str  # POSIX path inside the repository: "<model>/<...>"
    model: str
    kind: str  # config | version | file | warmup
    size: int
    data: Optional[bytes] = None  # generated content
    source: Optional[Path] = None  # or a local file to copy


@dataclass
class Tree:
    entries: list  # sorted by path

    def by_path(self) -> dict:
        return {e.path: e for e in self.entries}

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def _walk_source(folder: Path, doc_path: tuple, problems: list):
    """Yield (relative POSIX path, absolute path, size) for every file under `folder`."""
    root = folder.resolve()
    stack = [(folder, "")]
    while stack:
        current, prefix = stack.pop()
        try:
            items = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(f"cannot read source folder {current}: {exc.strerror}", "source-unreadable",
                                    doc_path))
            continue
        for item in items:
            if item.name in SKIPPED_NAMES:
                continue
            rel = prefix + item.name
            if item.is_symlink():
                target = Path(item.path).resolve()
                if not (target == root or root in target.parents):
                    problems.append(Problem(f"{rel} in {folder} is a symlink to {target}, outside the source folder",
                                            "source-symlink-escape", doc_path,
                                            hint="copy the file into the folder instead of linking out of it"))
                    continue
            if item.is_dir():
                stack.append((Path(item.path), rel + "/"))
            elif item.is_file():
                yield rel, Path(item.path), item.stat().st_size


def _version_entries(model, version, problems) -> list:
    prefix = f"{model.name}/{version.number}/"
    doc_path = version.doc_path + ("source",)
    if version.local_path is None:
        return [Entry(prefix + KEEP_FILE, model.name, VERSION, 0, data=b"")]
    if version.local_path.is_dir():
        entries = [Entry(prefix + rel, model.name, VERSION, size, source=path)
                   for rel, path, size in _walk_source(version.local_path, doc_path, problems)]
        return entries or [Entry(prefix + KEEP_FILE, model.name, VERSION, 0, data=b"")]
    if version.local_path.is_file():
        name = model.default_model_filename
        return [Entry(prefix + name, model.name, VERSION, version.local_path.stat().st_size,
                      source=version.local_path)]
    return []  # missing sources were reported while building the manifest


def _warmup_entries(model, root: Path, problems) -> list:
    entries = []
    for warmup in model.warmups:
        path = f"{model.name}/warmup/{warmup.file_name}"
        doc_path = model.doc_path_of(warmup.path)
        if warmup.source:
            local = root / warmup.source
            if not local.is_file():
                problems.append(Problem(f"warmup file {warmup.source!r} does not exist (looked for {local})",
                                        "source-missing", doc_path + ("file",)))
                continue
            entries.append(Entry(path, model.name, WARMUP, local.stat().st_size, source=local))
            continue
        data, found = encode(warmup.data_type, warmup.dims, warmup.data, ())
        for problem in found:
            problem.path = doc_path + problem.path
        problems.extend(found)
        if not found:
            entries.append(Entry(path, model.name, WARMUP, len(data), data=data))
    return entries


def build_tree(manifest, source_label: str = "models.yaml") -> tuple:
    """(Tree, problems with document paths)."""
    problems: list = []
    entries: list = []
    for model in manifest.models.values():
        text = render_config(model.config, source_label).encode("utf-8")
        entries.append(Entry(f"{model.name}/config.pbtxt", model.name, CONFIG, len(text), data=text))
        for version in model.versions.values():
            entries.extend(_version_entries(model, version, problems))
        for spec in model.files.values():
            if spec.local_path.is_file():
                entries.append(Entry(f"{model.name}/{spec.name}", model.name, FILE, spec.local_path.stat().st_size,
                                     source=spec.local_path))
        entries.extend(_warmup_entries(model, manifest.root, problems))
    entries.sort(key=lambda e: e.path)
    return Tree(entries), problems

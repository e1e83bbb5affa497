"""Stage 3: the model repository as a list of entries, before anything is written.

Building the tree first resolves the version sources (`compiler.artifacts`: digests from
its index or by hashing, remote files into the download cache, pins and models.lock);
apart from that it reads no file contents (except raw warmup files given as data), so
`validate` runs it too and reports every problem up front.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from compiler.answers import PLAIN
from compiler.artifacts.resolve import resolve_versions
from compiler.compile.config_text import render_config
from compiler.compile.warmup_data import encode
from compiler.manifest.variants import variant_file
from compiler.storage.files import sha256_file

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.cache import Cache
    from compiler.artifacts.settings import Settings
    from compiler.artifacts.source import Origin

# An empty version folder (an ensemble's) cannot exist on an object store, where folders
# are only prefixes of files; this zero-byte file keeps it present everywhere.
KEEP_FILE = ".triton-gitops-keep"

CONFIG, VERSION, FILE, WARMUP = "config", "version", "file", "warmup"


@dataclass(frozen=True)
class Entry:
    path: str  # POSIX path inside the repository: "<model>/<...>"
    model: str
    kind: str  # config | version | file | warmup
    size: int
    data: Optional[bytes] = None  # generated content
    source: Optional[Path] = None  # or a local file to copy (for a remote source: its verified cache copy)
    # Where a version file from a URL source lives (compiler.artifacts.Origin: URL, size, sha256,
    # store stamp): sync can copy it server-side, and `source` may then be None (not downloaded).
    origin: Optional[Origin] = None
    sha256: str = ""  # of a copied file, when the artifacts stage already knows it

    def content_sha256(self) -> str:
        """The sha256 of what this entry writes: known already, or read from its bytes ("" for
        a remote file neither downloaded nor digested)."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        if self.sha256:
            return self.sha256
        if self.origin is not None and self.origin.sha256:
            return self.origin.sha256
        return sha256_file(self.source) if self.source is not None else ""


@dataclass
class Tree:
    entries: list  # sorted by path

    def by_path(self) -> dict:
        return {e.path: e for e in self.entries}

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)


def _version_entries(model, version) -> list:
    prefix = f"{model.name}/{version.number}/"
    artifact = version.artifact
    if artifact is None:  # an ensemble's empty version; or a source that failed (already reported)
        return [] if version.source else [Entry(prefix + KEEP_FILE, model.name, VERSION, 0, data=b"")]
    if artifact.kind == "file":
        item = artifact.files[0]
        return [Entry(prefix + model.default_model_filename, model.name, VERSION, item.size, source=item.local,
                      origin=item.origin, sha256=item.sha256)]
    entries = [Entry(prefix + item.rel, model.name, VERSION, item.size, source=item.local, origin=item.origin,
                     sha256=item.sha256) for item in artifact.files]
    return entries or [Entry(prefix + KEEP_FILE, model.name, VERSION, 0, data=b"")]


def _warmup_entries(model, root: Path, problems, warmups=None, doc_path_of=None) -> list:
    entries = []
    for warmup in model.warmups if warmups is None else warmups:
        path = f"{model.name}/warmup/{warmup.file_name}"
        doc_path = (doc_path_of or model.doc_path_of)(warmup.path)
        if warmup.source:
            local = warmup.local_path  # resolved and checked while the manifest was built
            if local is not None and local.is_file():
                entries.append(Entry(path, model.name, WARMUP, local.stat().st_size, source=local))
            continue
        data, found = encode(warmup.data_type, warmup.dims, warmup.data, ())
        for problem in found:
            problem.path = doc_path + problem.path
        problems.extend(found)
        if not found:
            entries.append(Entry(path, model.name, WARMUP, len(data), data=data))
    return entries


def _variant_entries(model, root: Path, source_label: str, problems) -> list:
    """configs/<variant>.pbtxt (a config like config.pbtxt: sync orders it with them) and the
    variant's own warmup files."""
    entries = []
    for variant in model.variants.values():
        if variant.config is None:
            continue
        text = render_config(variant.config, source_label).encode("utf-8")
        entries.append(Entry(variant_file(model.name, variant.name), model.name, CONFIG, len(text), data=text))
        entries.extend(_warmup_entries(model, root, problems, variant.warmups,
                                       lambda path, v=variant: v.doc_path + tuple(path)))
    return entries


def build_tree(manifest, settings: Settings, source_label: str = "models.yaml", results=PLAIN,
               cache: Optional[Cache] = None) -> tuple:
    """(Tree, problems with document paths). `settings`: how the artifacts stage treats sources
    (compiler.artifacts.settings); `results`: answers of earlier runs to reuse
    (compiler.fastpath.results); `cache`: the run's download cache, when a later stage shares it."""
    problems: list = resolve_versions(manifest, settings, cache)  # before rendering: it adds checksum-agent MD5 parameters
    entries: list = []
    for model in manifest.models.values():
        if model.config is None:  # not a valid ModelConfig: already reported, nothing to render
            continue
        text = results.render(model.config, source_label, render_config).encode("utf-8")
        entries.append(Entry(f"{model.name}/config.pbtxt", model.name, CONFIG, len(text), data=text))
        for version in model.versions.values():
            entries.extend(_version_entries(model, version))
        for spec in model.files.values():
            if spec.local_path.is_file():
                entries.append(Entry(f"{model.name}/{spec.name}", model.name, FILE, spec.local_path.stat().st_size,
                                     source=spec.local_path))
        entries.extend(_warmup_entries(model, manifest.root, problems))
        entries.extend(_variant_entries(model, manifest.root, source_label, problems))
    entries.sort(key=lambda e: e.path)
    return Tree(entries), problems

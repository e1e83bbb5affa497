"""`models.lock`: the resolved digest of every version source, like a package lock file.

Written by `triton-gitops lock` next to the manifest (`<manifest stem>.lock`, so
`models.yaml` gets `models.lock`); read by every run. With `--locked` any difference is an
error, so a pull request that swaps the bytes behind an unchanged URL fails in CI; without
it a difference is a warning. The file is JSON with sorted keys and no timestamps, so it
only changes when a digest does, and its diff is what a reviewer reads:

    {"format": 1, "manifest": "models.yaml",
     "versions": {"bert/2": {"source": "s3://models/bert/2/", "kind": "folder", "size": 1234,
                             "sha256": "<folder digest>", "files": {"model.onnx": "<sha256>", ...}},
                  "tiny/1": {"source": "tiny/model.onnx", "kind": "file", "size": 56, "sha256": "..."}}}
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from compiler.errors import FatalError
from compiler.storage.files import write_atomic

FORMAT = 1


@dataclass
class LockEntry:
    source: str
    kind: str  # file | folder
    sha256: str
    size: int
    files: dict = field(default_factory=dict)  # folders: {relative path: sha256}

    def as_dict(self) -> dict:
        out = {"source": self.source, "kind": self.kind, "sha256": self.sha256, "size": self.size}
        if self.kind == "folder":
            out["files"] = dict(sorted(self.files.items()))
        return out


def lock_path(manifest_path) -> Path:
    manifest_path = Path(manifest_path)
    return manifest_path.with_name(manifest_path.stem + ".lock")


def key_of(model: str, version: int) -> str:
    return f"{model}/{version}"


def read_lock(path: Path) -> Optional[dict]:
    """{key: LockEntry}, or None when there is no lock file. A damaged file is fatal: a lock
    that cannot be read must not be silently ignored."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror}")
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r}")
        return {key: LockEntry(str(e["source"]), str(e["kind"]), str(e["sha256"]), int(e["size"]),
                               {str(k): str(v) for k, v in (e.get("files") or {}).items()})
                for key, e in data["versions"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FatalError(f"{path}: not a readable lock file ({exc})",
                         "regenerate it with `triton-gitops lock` (and review the diff)")


def render_lock(manifest_name: str, entries: dict) -> str:
    data = {"format": FORMAT, "manifest": manifest_name,
            "versions": {key: entries[key].as_dict() for key in sorted(entries)}}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_lock(path: Path, text: str) -> bool:
    """Replace the lock whole (readers never see half a file); False if it was already up to date."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise FatalError(f"cannot write {path}: {exc.strerror or exc}")
    return True


def differences(entry: LockEntry, source: str, kind: str, digest: str, files: dict) -> list:
    """What differs between the lock and what was resolved, one short phrase each."""
    found = []
    if entry.source != source:
        found.append(f"the source changed from {entry.source!r}")
    if entry.kind != kind:
        found.append(f"it was a {entry.kind} and is now a {kind}")
    elif kind == "folder":
        for rel in sorted(set(entry.files) | set(files)):
            old, new = entry.files.get(rel), files.get(rel)
            if old is None:
                found.append(f"{rel} was added")
            elif new is None:
                found.append(f"{rel} was removed")
            elif new and old != new:
                found.append(f"{rel}: sha256 is {new}, models.lock has {old}")
    if not found and digest and entry.sha256 != digest:
        found.append(f"sha256 is {digest}, models.lock has {entry.sha256}")
    return found


def lock_entries(manifest) -> dict:
    entries = {}
    for model in manifest.models.values():
        for version in model.versions.values():
            artifact = version.artifact
            if artifact is None:
                continue  # an ensemble's empty version folder: nothing to lock
            files = {f.rel: f.sha256 for f in artifact.files} if artifact.kind == "folder" else {}
            entries[key_of(model.name, version.number)] = LockEntry(version.source, artifact.kind, artifact.digest,
                                                                    artifact.size, files)
    return entries

"""Our files at a model repository's root, and the format of the state file among them.

`compile` (a local folder) and `sync` (any target) both write `.triton-gitops-state.json`
and both must never mistake these files for models, so their names and the state's format
live here, below both stages; reading and writing them on a target is sync's (sync/state.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from compiler import __version__

STATE_NAME = ".triton-gitops-state.json"
LOCK_NAME = ".triton-gitops-lock.json"
ROLLOUT_NAME = ".triton-gitops-rollout.json"  # written by `rollout --target` (compiler/rollout/rollout_record.py)
COMPILED_NAME = ".triton-gitops-compiled"  # `compile` marks the folders it replaces whole (compile/output.py)
CONTROL_NAMES = (STATE_NAME, LOCK_NAME, ROLLOUT_NAME, COMPILED_NAME)  # ours, at a repository's root; never models
TMP_PREFIX = ".triton-gitops-tmp-"  # every temporary name we create starts with this
FORMAT = 1


@dataclass
class Record:
    size: int
    sha256: str
    md5: str = ""
    stamp: str = ""
    pending: bool = False

    def as_dict(self) -> dict:
        out = {"size": self.size, "sha256": self.sha256, "md5": self.md5}
        if self.stamp:
            out["stamp"] = self.stamp
        if self.pending:
            out["pending"] = True
        return out


@dataclass
class State:
    files: dict = field(default_factory=dict)  # path -> Record
    revision: Optional[str] = None
    manifest: str = ""
    synced_at: str = ""
    damaged: str = ""  # why the stored state could not be read, if it could not
    ensembles: list = field(default_factory=list)  # so a removed ensemble can still go first
    raw: Optional[bytes] = field(default=None, repr=False, compare=False)  # the bytes read, None if absent

    def to_bytes(self) -> bytes:
        data = {"format": FORMAT, "tool": f"triton-gitops {__version__}", "revision": self.revision,
                "manifest": self.manifest, "synced_at": self.synced_at, "ensembles": sorted(self.ensembles),
                "files": {path: self.files[path].as_dict() for path in sorted(self.files)}}
        return (json.dumps(data, indent=1) + "\n").encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> State:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                return cls(damaged=f"unknown format {data.get('format')!r}")
            files = {path: Record(int(r["size"]), str(r["sha256"]), str(r.get("md5", "")),
                                  str(r.get("stamp", "")), bool(r.get("pending", False)))
                     for path, r in data["files"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return cls(damaged=f"unreadable ({type(exc).__name__})")
        ensembles = [str(name) for name in data.get("ensembles") or [] if isinstance(name, str)]
        return cls(files, data.get("revision"), str(data.get("manifest", "")), str(data.get("synced_at", "")),
                   ensembles=ensembles)

"""What should be served (the manifest's versions through each version policy) and what is
(the server's repository index), in the same shape so they can be compared."""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler.rollout.client import IndexEntry, TritonError
from compiler.rules.versions import versions_to_load

READY, LOADING, UNLOADING, UNAVAILABLE = "READY", "LOADING", "UNLOADING", "UNAVAILABLE"


def expected_versions(model) -> set:
    """The versions Triton serves for a manifest model: its folders through its version policy."""
    return versions_to_load(model.config, model.versions)


@dataclass
class ServedModel:
    """One model in the index: each version Triton knows of, with its state and reason."""

    name: str
    versions: dict = field(default_factory=dict)  # int -> (state, reason)

    @property
    def ready(self) -> set:
        return {v for v, (state, _) in self.versions.items() if state == READY}

    @property
    def busy(self) -> bool:
        return any(state in (LOADING, UNLOADING) for state, _ in self.versions.values())

    def reason(self, version: int) -> str:
        state, reason = self.versions.get(version, ("", ""))
        return reason or state

    def failures(self, versions) -> dict:
        """version -> Triton's reason, for those of `versions` Triton tried that are not READY
        (a version it never tried has no reason to give)."""
        return {v: self.reason(v) for v in sorted(versions) if v in self.versions and v not in self.ready}


def read_served(client) -> dict:
    """The repository index, plus versions still served from folders no longer there."""
    entries = list(client.index())
    known = {(e.name, e.version) for e in entries}
    try:
        loaded = client.loaded()
    except TritonError:  # statistics disabled: the index alone is the best we know
        loaded = []
    for name, version in loaded:
        if (name, version) not in known:
            entries.append(IndexEntry(name, version, READY, "its folder is gone from the repository"))
    return served_models(entries)


def served_models(entries) -> dict:
    """name -> ServedModel from the repository index. A model listed without a version is in
    the repository but was never loaded; it gets an entry with no versions."""
    out: dict = {}
    for entry in entries:
        model = out.setdefault(entry.name, ServedModel(entry.name))
        if entry.version and entry.version.isdigit():
            model.versions[int(entry.version)] = (entry.state, entry.reason)
    return out

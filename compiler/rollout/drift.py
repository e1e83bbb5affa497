"""Drift: every way the models a server has loaded differ from the manifest.

The same per-model check decides what `rollout` loads, so `status` after a clean rollout
reports nothing, and `status` before one lists exactly what it will do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler.rollout.client import TritonClient, TritonError
from compiler.rollout.compare import config_differences, describe
from compiler.rollout.served import expected_versions, read_served

MISSING, VERSIONS, CONFIG, EXTRA = "missing", "versions", "config", "extra"


@dataclass
class Drift:
    model: str
    kind: str  # missing | versions | config | extra
    message: str
    details: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"model": self.model, "kind": self.kind, "message": self.message, "details": self.details}


def versions_text(versions) -> str:
    return ", ".join(map(str, sorted(versions))) or "none"


def _failures(served, versions) -> list:
    """Triton's reason for each of `versions` it tried and failed to load (not the ones it never saw)."""
    if served is None:
        return []
    return [f"version {v}: {reason}" for v, reason in served.failures(versions).items()]


def model_drift(model, served, client) -> list:
    """Drift of one manifest model; `served` is its ServedModel from the index, or None."""
    expected = expected_versions(model)
    if served is None or not served.ready:
        return [Drift(model.name, MISSING, "not loaded" if served is None or not served.versions
                      else f"not serving (expected versions {versions_text(expected)} READY)",
                      _failures(served, expected))]
    out = []
    if served.ready != expected:
        out.append(Drift(model.name, VERSIONS, f"serving versions {versions_text(served.ready)}, the manifest selects "
                                               f"{versions_text(expected)}", _failures(served, expected)))
    try:
        theirs = client.config(model.name)
    except TritonError as exc:
        return out + [Drift(model.name, CONFIG, f"config not readable: {exc.message}")]
    differences = config_differences(model.config, theirs, model.name)
    if differences:
        out.append(Drift(model.name, CONFIG, f"config differs in {len(differences)} field(s)",
                         [describe(d) for d in differences]))
    return out


def extra_models(manifest, served: dict) -> list:
    """Loaded models the manifest neither lists nor names under external_models."""
    keep = set(manifest.models) | set(manifest.external_models)
    return [name for name in sorted(served) if name not in keep and (served[name].ready or served[name].busy)]


def find_drift(manifest, client) -> list:
    served = read_served(client)
    out = []
    for name, model in manifest.models.items():
        out.extend(model_drift(model, served.get(name), client))
    for name in extra_models(manifest, served):
        out.append(Drift(name, EXTRA, f"loaded (versions {versions_text(served[name].ready)}) but not in the manifest",
                         ["add it to `external_models` if something else manages it"]))
    return out


def server_drift(manifest, url: str, timeout: float) -> list:
    """`find_drift` against the server at `url`; TritonError when it cannot be asked (not live,
    unreachable), so that a caller checking many servers can report each on its own."""
    client = TritonClient(url, timeout=timeout)
    try:
        client.check_live()
        return find_drift(manifest, client)
    finally:
        client.close()

"""Roll a manifest out to a Triton in EXPLICIT model-control mode.

Which models changed is read off the server, not remembered: a model is loaded when it is
not being served, when the versions READY are not the ones its version policy selects from
the manifest, or when the config the server runs differs from the manifest's (see
compare.py). Every load makes Triton reload the model even when nothing changed (seen on
2.51), so unchanged models are left alone. Models the server has loaded that the manifest
neither lists nor names under `external_models` are unloaded.

Composing models load before the ensembles that use them. A failed load leaves Triton
serving what it served before (model_management.md, EXPLICIT mode); the outcome says which
versions are still READY and quotes Triton's reason from the repository index.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from compiler.errors import FatalError
from compiler.rollout.client import TritonError
from compiler.rollout.drift import extra_models, model_drift, versions_text
from compiler.rollout.served import ServedModel, expected_versions, read_served

LOADED, UNCHANGED, FAILED, UNLOADED = "loaded", "unchanged", "failed", "unloaded"
# Triton's answer to load/unload in NONE and POLL mode (it says "polling" for both).
_NOT_EXPLICIT = "explicit model load / unload is not allowed"
POLL_SECONDS = 0.2


@dataclass
class Outcome:
    name: str
    action: str
    expected: set = field(default_factory=set)
    ready: set = field(default_factory=set)  # READY after the rollout
    why: list = field(default_factory=list)  # what made it a change
    failures: dict = field(default_factory=dict)  # version -> Triton's reason
    message: str = ""  # Triton's answer to the load/unload request
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"model": self.name, "action": self.action, "expected_versions": sorted(self.expected),
                "ready_versions": sorted(self.ready), "why": self.why,
                "failures": {str(v): r for v, r in self.failures.items()}, "message": self.message,
                "seconds": round(self.seconds, 3)}


def model_changes(model, served, client) -> list:
    """Why `model` needs a load; empty when the server already serves it as the manifest says."""
    why = []
    for drift in model_drift(model, served, client):
        why.append(drift.message)
        why.extend(f"  {detail}" for detail in drift.details)
    return why


def load_order(models: dict) -> list:
    """Names with every ensemble after the models its steps name (those in the manifest)."""
    order, placed = [], set()

    def place(name, trail=()):
        if name in placed or name in trail:
            return
        for step in models[name].config.ensemble_scheduling.step:
            if step.model_name in models:
                place(step.model_name, trail + (name,))
        placed.add(name)
        order.append(name)

    for name in sorted(models, key=lambda n: (models[n].config.platform == "ensemble", n)):
        place(name)
    return order


def _wait(client, name: str, expected: set, deadline: float):
    """Poll the index until exactly `expected` is READY and nothing is loading or unloading."""
    while True:
        # A model gone from the index and the statistics is not served at all (unloaded).
        served = read_served(client).get(name) or ServedModel(name)
        if served.ready == expected and not served.busy:
            return served, True
        if time.monotonic() >= deadline:
            return served, False
        time.sleep(POLL_SECONDS)


def _refuse_if_not_explicit(exc: TritonError, client) -> None:
    if _NOT_EXPLICIT in exc.message:
        raise FatalError(f"Triton at {client.endpoint} does not take load/unload requests: {exc.message}",
                         "start tritonserver with --model-control-mode=explicit (in POLL mode Triton loads what "
                         "sync writes by itself; `status` still reports drift)")


def _load(model, client, why: list, timeout: float) -> Outcome:
    outcome = Outcome(model.name, LOADED, expected_versions(model), why=why)
    started = time.monotonic()
    try:
        client.load(model.name)
    except TritonError as exc:
        _refuse_if_not_explicit(exc, client)
        outcome.action, outcome.message = FAILED, exc.message
    served, settled = _wait(client, model.name, outcome.expected, started + timeout) \
        if outcome.action == LOADED else (read_served(client).get(model.name), False)
    outcome.ready = served.ready if served else set()
    if outcome.action == LOADED and not settled:
        outcome.action = FAILED
        outcome.message = f"timed out after {timeout:g} s waiting for versions {versions_text(outcome.expected)} READY"
    if outcome.action == FAILED:
        outcome.failures = served.failures(outcome.expected) if served else {}
    outcome.seconds = time.monotonic() - started
    return outcome


def _unload(name: str, client, timeout: float) -> Outcome:
    outcome = Outcome(name, UNLOADED, why=["not in the manifest"])
    started = time.monotonic()
    try:
        client.unload(name)
        served, settled = _wait(client, name, set(), started + timeout)
        outcome.ready = served.ready if served else set()
        if not settled:
            outcome.action, outcome.message = FAILED, f"still serving after {timeout:g} s"
    except TritonError as exc:
        _refuse_if_not_explicit(exc, client)
        outcome.action, outcome.message = FAILED, exc.message
    outcome.seconds = time.monotonic() - started
    return outcome


def rollout(manifest, client, timeout: float = 300.0, force=(), on_outcome=None, files_changed=(),
            changed_why: str = "files changed since the last rollout to this server") -> list:
    """Load what changed, unload what left; one Outcome per model touched or checked.
    `force`: names loaded even when unchanged ("*" for all). `files_changed`: models whose
    files changed since this server's last rollout (compiler/rollout/rollout_record.py), loaded
    with `changed_why` as the reason."""
    served = read_served(client)
    outcomes = []

    def record(outcome):
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    for name in load_order(manifest.models):
        model = manifest.models[name]
        why = model_changes(model, served.get(name), client)
        if not why and name in files_changed:
            why = [changed_why]
        if not why and (name in force or "*" in force):
            why = ["forced"]
        if why:
            record(_load(model, client, why, timeout))
        else:
            current = served[name]
            record(Outcome(name, UNCHANGED, expected_versions(model), set(current.ready)))
    for name in extra_models(manifest, served):
        record(_unload(name, client, timeout))
    return outcomes

"""A rollout over every replica: waves, a health gate after each, and rollback on failure.

Replicas change in waves (fleet.waves: the canary first, then `max_unavailable` at a time);
the replicas of one wave load in parallel, so never more than that many are busy loading.
After each wave, the gate (on every replica of the wave):
- every model the rollout touched has the versions its policy selects READY (Triton's
  reason quoted otherwise);
- with `smoke`, one inference per loaded model answers;
- with `max_p99_ms` / `min_throughput`, the built-in load test stays within them;
- with `soak` seconds, Triton's `nv_inference_request_failure` counter of no touched model
  rises on the metrics port meanwhile (real traffic failing on the new model).
A failed gate stops the rollout: no further wave starts, and every replica changed so far
(this wave and the earlier ones) is put back to what it served before (restore.py).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.errors import FatalError
from compiler.rollout.client import TritonClient, TritonError
from compiler.rollout.drift import versions_text
from compiler.rollout.explicit_load import FAILED, LOADED, UNLOADED, rollout
from compiler.rollout.fleet import waves as plan_waves
from compiler.rollout.restore import KEPT, Restore, restore_model, snapshot

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.rollout.fleet import Replica

ROLLED_OUT, ROLLED_BACK, ROLLBACK_FAILED = "rolled out", "rolled back", "rollback failed"


@dataclass
class Gates:
    smoke: bool = False
    perf: bool = False  # measure (and report) even without thresholds
    max_p99_ms: float | None = None
    min_throughput: float | None = None
    concurrency: int = 4
    duration: float = 5.0
    soak: float = 0.0

    @property
    def measure(self) -> bool:
        return self.perf or self.max_p99_ms is not None or self.min_throughput is not None


@dataclass
class ReplicaRun:
    replica: Replica
    wave: int
    kind: str  # canary | wave
    outcomes: list = field(default_factory=list)
    smokes: list = field(default_factory=list)
    perfs: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # why the gate failed here
    restores: list = field(default_factory=list)
    before: dict = field(default_factory=dict)  # restore.snapshot
    error: str = ""  # Triton went away
    fatal: Optional[FatalError] = None  # the FatalError a replica raised (refused load requests: POLL mode)

    @property
    def touched(self) -> list:
        return [o for o in self.outcomes if o.action in (LOADED, UNLOADED, FAILED)]

    @property
    def state(self) -> str:
        if self.restores or (self.failures and not self.touched):
            return ROLLBACK_FAILED if any(not r.ok for r in self.restores) else ROLLED_BACK
        return "failed" if self.failures else ("changed" if self.touched else "unchanged")

    def as_dict(self) -> dict:
        return {"url": self.replica.url, "named_as": self.replica.source, "wave": self.wave, "kind": self.kind,
                "state": self.state, "models": [o.as_dict() for o in self.outcomes],
                "smoke": [s.as_dict() for s in self.smokes], "perf": [p.as_dict() for p in self.perfs],
                "gate_failures": self.failures, "rollback": [r.as_dict() for r in self.restores],
                "error": self.error}


@dataclass
class FleetRun:
    runs: list = field(default_factory=list)  # ReplicaRun, in the order they were reached
    not_reached: list = field(default_factory=list)  # replicas of waves never started
    verdict: str = ROLLED_OUT


def _change(manifest, run: ReplicaRun, timeout: float, force, files_changed, changed_why=None) -> None:
    client = TritonClient(run.replica.url, timeout=timeout)
    try:
        run.before = snapshot(client)
        changed = files_changed(client)  # first: it may learn who the server is (compiler/rollout/server.py)
        why = {"changed_why": changed_why(client)} if changed_why else {}
        run.outcomes = rollout(manifest, client, timeout, force, files_changed=changed, **why)
    except TritonError as exc:
        run.error = exc.message
        run.failures.append(f"Triton went away: {exc.message}")
    except FatalError as exc:  # a POLL-mode replica in the fleet: the others of its wave may have changed
        run.fatal = exc
        run.error = exc.message
        run.failures.append(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
    finally:
        client.close()


def _check(manifest, run: ReplicaRun, gates: Gates, timeout: float) -> None:
    for o in run.outcomes:
        if o.action == FAILED:
            reasons = "; ".join(f"version {v}: {r.strip().rstrip(';').strip()}" for v, r in o.failures.items()) or o.message
            run.failures.append(f"{o.name}: versions {versions_text(o.expected)} not READY ({reasons})")
    if run.error:
        return
    loaded = [manifest.models[o.name] for o in run.outcomes if o.action == LOADED]
    client = TritonClient(run.replica.url, timeout=timeout)
    try:
        if gates.smoke:
            from compiler.rollout.smoke import smoke  # noqa: PLC0415 - numpy + tritonclient ~130 ms: --smoke only

            for model in loaded:
                result = smoke(model, client, manifest.root)
                run.smokes.append(result)
                if not result.ok:
                    run.failures.append(f"{model.name}: smoke inference failed: {result.detail}")
        if gates.measure:
            from compiler.rollout.perf import measure  # noqa: PLC0415 - ~155 ms: --perf only

            for model in loaded:
                measured = measure(model, client.endpoint, manifest.root, gates.concurrency, gates.duration)
                run.perfs.append(measured)
                if gates.max_p99_ms is not None and measured.p99_ms > gates.max_p99_ms:
                    run.failures.append(f"{model.name}: p99 {measured.p99_ms:.2f} ms > --max-p99-ms {gates.max_p99_ms:g}")
                if gates.min_throughput is not None and measured.per_second < gates.min_throughput:
                    run.failures.append(f"{model.name}: {measured.per_second:.1f} infer/s < --min-throughput "
                                        f"{gates.min_throughput:g}")
                if not measured.ok:
                    run.failures.append(f"{model.name}: load test failed: {result.detail}")
    except TritonError as exc:
        run.failures.append(f"Triton went away: {exc.message}")
    finally:
        client.close()


def _soak(runs: list, seconds: float) -> None:
    """Wait `seconds`, then fail the replicas where a touched model's failure counter rose."""
    from compiler.rollout.metrics import MetricsError, read_failures, rises  # noqa: PLC0415 - ~33 ms: --soak only

    watched = [r for r in runs if r.touched and not r.failures]
    before = {}
    for run in watched:
        try:
            before[run.replica.url] = read_failures(run.replica.metrics_url)
        except MetricsError as exc:
            run.failures.append(f"soak: {exc} (check --metrics-port)")
    time.sleep(seconds)
    for run in watched:
        if run.replica.url not in before:
            continue
        try:
            after = read_failures(run.replica.metrics_url)
        except MetricsError as exc:
            run.failures.append(f"soak: {exc}")
            continue
        for model, more in sorted(rises(before[run.replica.url], after, {o.name for o in run.touched}).items()):
            run.failures.append(f"{model}: {more:g} failed requests (nv_inference_request_failure) during the "
                                f"{seconds:g} s soak")


def _roll_back(run: ReplicaRun, previous, timeout: float) -> None:
    client = TritonClient(run.replica.url, timeout=timeout)
    try:
        for outcome in reversed(run.touched):  # ensembles first, then what they use
            before = run.before.get(outcome.name)
            if outcome.action == FAILED and before is not None and outcome.ready == before.ready:
                run.restores.append(Restore(outcome.name, KEPT, "its load failed; Triton kept serving it as before",
                                            set(outcome.ready)))
                continue
            try:
                run.restores.append(restore_model(client, outcome.name, before, previous, timeout))
            except TritonError as exc:
                run.restores.append(Restore(outcome.name, "not restored", f"Triton went away: {exc.message}"))
    finally:
        client.close()


def roll_out(manifest, replicas: list, *, canary: int = 1, max_unavailable: int = 1, gates: Optional[Gates] = None,
             timeout: float = 300.0, force=(), files_changed=lambda client: set(), changed_why=None,
             previous=None, on_wave=None) -> FleetRun:
    """Roll `manifest` out to `replicas` in waves; `previous` (restore.PreviousFiles) is where a
    rollback takes the files it must send. `on_wave(kind, number, runs)` is told each wave's end."""
    gates = gates or Gates()
    result = FleetRun()
    planned = plan_waves(replicas, canary, max_unavailable)
    for number, (kind, members) in enumerate(planned, 1):
        runs = [ReplicaRun(replica, number, kind) for replica in members]
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            list(pool.map(lambda run: _change(manifest, run, timeout, force, files_changed, changed_why), runs))
        for run in runs:
            _check(manifest, run, gates, timeout)
        if gates.soak > 0 and any(r.touched for r in runs):
            _soak(runs, gates.soak)
        result.runs.extend(runs)
        if on_wave is not None:
            on_wave(kind, number, runs)
        if any(run.failures for run in runs):
            fatal = next((run.fatal for run in runs if run.fatal is not None), None)
            if fatal is not None and not any(run.touched for run in result.runs):
                raise fatal  # nothing changed anywhere: a plain error, exit 1
            for _, later in planned[number:]:
                result.not_reached.extend(later)
            for run in result.runs:
                if run.touched or run.failures:
                    _roll_back(run, previous, timeout)
            failed = any(not r.ok for run in result.runs for r in run.restores)
            result.verdict = ROLLBACK_FAILED if failed else ROLLED_BACK
            return result
    return result

"""Which measurement, and so which config variant, to take.

Every measurement is checked against each constraint on its own; what is left is ranked
by the objective, ties broken by the other figure (throughput by lower p99, latency and
GPU memory by higher throughput). A config counts by its best measurement, as in Model
Analyzer's own ranking. When nothing is left, the error says what each constraint
eliminated and how close the best measurement came.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.errors import FatalError

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.analyzer.results import Measurement

OBJECTIVES = {
    # name: (sort key, what it means)
    "throughput": (lambda m: (-m.throughput, m.p99_ms), "highest throughput"),
    "latency": (lambda m: (m.p99_ms, -m.throughput), "lowest p99 latency"),
    "gpu-memory": (lambda m: (m.gpu_memory_mb if m.gpu_memory_mb is not None else float("inf"), -m.throughput),
                   "least GPU memory"),
}


@dataclass(frozen=True)
class Constraint:
    option: str  # as typed: --max-p99-ms
    limit: float
    metric: str  # Measurement attribute
    upper: bool  # the value may be at most `limit` (else at least)
    unit: str

    def passes(self, measurement) -> bool:
        value = getattr(measurement, self.metric)
        return value is not None and (value <= self.limit if self.upper else value >= self.limit)

    def describe(self) -> str:
        return f"{self.option} {self.limit:g}"


def constraints_from(max_p99_ms=None, min_throughput=None, max_gpu_memory_mb=None) -> list:
    out = []
    if max_p99_ms is not None:
        out.append(Constraint("--max-p99-ms", max_p99_ms, "p99_ms", True, "ms"))
    if min_throughput is not None:
        out.append(Constraint("--min-throughput", min_throughput, "throughput", False, "infer/s"))
    if max_gpu_memory_mb is not None:
        out.append(Constraint("--max-gpu-memory-mb", max_gpu_memory_mb, "gpu_memory_mb", True, "MB"))
    return out


@dataclass
class Choice:
    model: str
    measurement: Measurement
    objective: str
    constraints: list  # Constraint
    considered: int  # measurements looked at (of the named config, with --config)
    passed: int
    configs: int  # config variants looked at
    named: bool = False  # chosen by --config
    eliminated: dict = field(default_factory=dict)  # constraint text -> measurements it eliminated

    @property
    def config(self) -> str:
        return self.measurement.config


def _variant(model: str, name: str, variants) -> Optional[str]:
    for candidate in (name, f"{model}_config_{name}"):
        if candidate in variants:
            return candidate
    return None


def _closest(constraint: Constraint, measurements) -> str:
    known = [m for m in measurements if getattr(m, constraint.metric) is not None]
    if not known:
        return "no figure recorded"
    pick = min if constraint.upper else max
    best = pick(known, key=lambda m: getattr(m, constraint.metric))
    return (f"{'lowest' if constraint.upper else 'highest'}: {getattr(best, constraint.metric):g} {constraint.unit}, "
            f"{best.config} at {best.load()}")


def choose(results, model: str, objective: str = "throughput", constraints=(), config: str = "") -> Choice:
    if model in results.unsupported:
        raise FatalError(f"{results.unsupported[model]}: not supported",
                         "import-analyzer takes a model profiled on its own; for an ensemble, profile and import "
                         "each composing model")
    measurements = results.models.get(model)
    if not measurements:
        known = ", ".join(sorted(results.models)) or "none"
        raise FatalError(f"{results.path}: no results for model {model!r} (models there: {known})",
                         "--model takes the name Model Analyzer profiled (its --profile-models)")
    variants = sorted({m.config for m in measurements})
    if config:
        variant = _variant(model, config, variants)
        if variant is None:
            raise FatalError(f"{results.path}: model {model!r} has no config {config!r} (configs: {', '.join(variants)})",
                             f"--config takes N for {model}_config_N, `default`, or a full name")
        measurements = [m for m in measurements if m.config == variant]
    needs_memory = objective == "gpu-memory" or any(c.metric == "gpu_memory_mb" for c in constraints)
    if needs_memory and all(m.gpu_memory_mb is None for m in measurements):
        raise FatalError(f"{results.path}: no GPU memory figures for {model!r}",
                         "the CSV route reads them from metrics-model-gpu.csv beside the inference CSV; "
                         "a CPU-only run has none")
    checks = list(constraints)
    eliminated = {}
    passing = measurements
    if any(m.satisfies is False for m in measurements):
        own = "Model Analyzer's own constraints (Satisfies Constraints: No)"
        eliminated[own] = sum(m.satisfies is False for m in measurements)
        passing = [m for m in passing if m.satisfies is not False]
    for constraint in checks:
        eliminated[constraint.describe()] = sum(not constraint.passes(m) for m in measurements)
        passing = [m for m in passing if constraint.passes(m)]
    subject = f"config {measurements[0].config}" if config else f"the {len(variants)} configs"
    if not passing:
        # One line, like every error: what each constraint eliminated, and how close the best came.
        parts = []
        for text, count in eliminated.items():
            closest = next((_closest(c, measurements) for c in checks if c.describe() == text), "")
            parts.append(f"{text} eliminated {count} of {len(measurements)}" + (f" ({closest})" if closest else ""))
        raise FatalError(f"no measurement of {model!r} meets the constraints ({len(measurements)} measurements of "
                         f"{subject} in {results.path}): " + "; ".join(parts),
                         "relax a constraint, or pick a config with --config")
    best = min(passing, key=OBJECTIVES[objective][0])
    return Choice(model, best, objective, checks, len(measurements), len(passing),
                  1 if config else len(variants), named=bool(config), eliminated=eliminated)

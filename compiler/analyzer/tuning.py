"""The `tuning:` block a model entry carries after an import: what was measured, with
which config and client load, so the PR report can show the figures next to the change."""
from __future__ import annotations

SOURCE = "model_analyzer"


def _round(value, digits: int):
    return None if value is None else round(float(value), digits)


def tuning_block(choice, results) -> dict:
    m = choice.measurement
    block = {"source": SOURCE, "config": m.config, "objective": choice.objective}
    if choice.constraints:
        block["constraints"] = {c.option.lstrip("-").replace("-", "_"): c.limit for c in choice.constraints}
    for key, value in (("batch_size", m.batch_size), ("concurrency", m.concurrency),
                       ("request_rate", m.request_rate)):
        if value is not None:
            block[key] = value
    block["throughput_per_sec"] = _round(m.throughput, 1)
    block["p99_latency_ms"] = _round(m.p99_ms, 3)
    if m.gpu_memory_mb is not None:
        block["gpu_memory_mb"] = _round(m.gpu_memory_mb, 1)
    if results.gpus:
        block["gpus"] = list(results.gpus)
    return block

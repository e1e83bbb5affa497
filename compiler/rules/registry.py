"""Runs every rule module on one config. Each module has `check(config, ctx) -> list` of the
Problems it finds (and, for a check it could not make, a Note) and covers one topic; the order
here is the order problems are reported in."""
from __future__ import annotations

from compiler.errors import clip
from compiler.notes import Note

# Triton release, installed names, and backend-specific checks (issue 12, parts 3 and 4).
# What a real tritonserver 2.51 taught (issue 12, parts 1 and 2; tests/judge).
from compiler.rules import (
    Findings,
    backend,
    batch_strategy,
    batching,
    ensemble,
    installed,
    instances,
    misc,
    model_files,
    names,
    onnx_model,
    python_backend,
    release,
    repository_agents,
    sequence,
    tensorrtllm,
    tensors,
    versions,
    vllm,
    warmup,
)

MODULES = (names, backend, tensors, batching, sequence, ensemble, versions, model_files, warmup, instances, misc,
           release, installed, python_backend, vllm, tensorrtllm, onnx_model, batch_strategy, repository_agents)


def run_all(config, ctx) -> Findings:
    found = Findings()
    for module in MODULES:
        for item in module.check(config, ctx):
            (found.notes if isinstance(item, Note) else found.problems).append(item)
    for problem in found.problems:
        problem.message, problem.hint = clip(problem.message), clip(problem.hint)
    return found

"""Backends, repository agents and batch strategy libraries the server must have installed.

Triton loads a backend from <backend dir>/<name>/, a repository agent from
<repoagent dir>/<name>/, and a custom batch strategy from the file TRITON_BATCH_STRATEGY_PATH
names on the server; none of that is in the model repository, so a misspelt name only fails
when the model loads ("unable to find backend library for backend 'pyhton'").

Known without asking: the backends and agents NVIDIA's tritonserver containers ship. Anything
else is declared, never guessed: in the manifest (`server: {backends: [...], repository_agents:
[...], batch_strategies: [...]}`), or for lint with `--backend`, `--repository-agent`,
`--batch-strategy` or `--manifest models.yaml` (its `server:` block). An undeclared name is an
error on both paths: a stock Triton refuses the load (tests/judge: custom_backend_undeclared,
repository_agent_custom_undeclared).
"""
from __future__ import annotations

import posixpath

from compiler.rules.base import error, suggest

# Backends in the tritonserver containers: the full one (/opt/tritonserver/backends), the
# -vllm-python-py3 one (vllm, a python-based backend) and the -trtllm-python-py3 one (tensorrtllm).
STANDARD_BACKENDS = frozenset({
    "dali", "fil", "identity", "onnxruntime", "openvino", "python", "pytorch", "repeat", "square",
    "tensorflow", "tensorrt", "tensorrtllm", "vllm",
})
STANDARD_AGENTS = frozenset({"checksum"})
BATCH_STRATEGY_PARAMETER = "TRITON_BATCH_STRATEGY_PATH"


def _declared(ctx, kind: str) -> set:
    return set((ctx.server or {}).get(kind) or ())


def _declare_hint(flag: str, key: str, name: str) -> str:
    return (f"fix the name, or if the server has a custom one of this name installed, declare it: in the manifest "
            f"`server: {{{key}: [\"{name}\"]}}`, for lint `lint {flag} {name}` (or `lint --manifest models.yaml`)")


def _unknown(kind_label, key, flag, name, standard, path, ctx) -> list:
    if name in standard or name in _declared(ctx, key):
        return []
    close = suggest(name, standard)
    message = (f"{kind_label} '{name}' is not one the Triton containers ship and is not declared as installed; "
               f"Triton fails to load the model unless the server has it")
    if close:
        message += f"; {close}"
    return [error(f"unknown-{key.replace('_', '-')}", message, path, hint=_declare_hint(flag, key, name))]


def _batch_strategy(config, ctx) -> list:
    if BATCH_STRATEGY_PARAMETER not in config.parameters or config.HasField("sequence_batching"):
        return []  # with a sequence batcher: compiler.rules.batch_strategy refuses it
    value = config.parameters[BATCH_STRATEGY_PARAMETER].string_value
    if not posixpath.isabs(value) or value in _declared(ctx, "batch_strategies"):
        return []  # a relative path: compiler.rules.batch_strategy refuses it
    return [error("unknown-batch-strategy", f"batch strategy library '{value}' is not declared as installed on the "
                  "server; Triton fails the load with \"Batching library path not found\" when it is missing",
                  ("parameters", BATCH_STRATEGY_PARAMETER),
                  hint=_declare_hint("--batch-strategy", "batch_strategies", value)
                       + "; or drop the parameter and put batchstrategy.so in the model folder")]


def check(config, ctx) -> list:
    out = []
    if config.backend:
        out += _unknown("backend", "backends", "--backend", config.backend, STANDARD_BACKENDS, ("backend",), ctx)
    for i, agent in enumerate(config.model_repository_agents.agents):
        out += _unknown("repository agent", "repository_agents", "--repository-agent", agent.name, STANDARD_AGENTS,
                        ("model_repository_agents", "agents", i, "name"), ctx)
    return out + _batch_strategy(config, ctx)

"""Backends, repository agents and batch strategy libraries the server must have installed.

Triton loads a backend from <backend dir>/<name>/, a repository agent from
<repoagent dir>/<name>/, and a custom batch strategy from the file TRITON_BATCH_STRATEGY_PATH
names on the server; none of that is in the model repository, so a misspelt name only fails
when the model loads ("unable to find backend library for backend 'pyhton'").

Known without asking: the backends and agents NVIDIA's tritonserver containers ship. Anything
else is declared in the manifest (`server: {backends: [...], repository_agents: [...],
batch_strategies: [...]}`), never guessed. For lint there is no declaration: an unknown name
that is close to a standard one is an error (a typo), any other unknown name a warning.
"""
from __future__ import annotations

from compiler.rules.base import error, suggest, warning

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


def _unknown(kind_label, key, name, standard, path, ctx, declare_hint) -> list:
    if name in standard or name in _declared(ctx, key):
        return []
    close = suggest(name, standard)
    message = f"{kind_label} '{name}' is not one the Triton containers ship"
    if close:
        message += f"; {close}"
    hint = (f"fix the name, or if the server has a custom {kind_label} of this name installed, declare it in the "
            f"manifest: {declare_hint}")
    if ctx.server is not None or close:
        return [error(f"unknown-{key.replace('_', '-')}", message, path, hint=hint)]
    if ctx.model_file_may_complete:
        return [warning(f"unknown-{key.replace('_', '-')}", message + "; Triton fails to load the model unless the "
                        f"server has it installed", path, hint=f"standard: {', '.join(sorted(standard))}")]
    return [error(f"unknown-{key.replace('_', '-')}", message, path, hint=hint)]


def _batch_strategy(config, ctx) -> list:
    if BATCH_STRATEGY_PARAMETER not in config.parameters:
        return []
    value = config.parameters[BATCH_STRATEGY_PARAMETER].string_value
    path = ("parameters", BATCH_STRATEGY_PARAMETER)
    if value in _declared(ctx, "batch_strategies"):
        return []
    if ctx.model_file_may_complete and ctx.server is None:
        return []  # lint cannot know the server's files
    return [error("unknown-batch-strategy", f"batch strategy library '{value}' is not declared as installed on the "
                  "server; Triton fails the load with \"Batching library path not found\" when it is missing", path,
                  hint=f"declare it: `server: {{batch_strategies: [\"{value}\"]}}`, or drop the parameter and put "
                       "batchstrategy.so in the model folder")]


def check(config, ctx) -> list:
    out = []
    if config.backend:
        out += _unknown("backend", "backends", config.backend, STANDARD_BACKENDS, ("backend",), ctx,
                        f"`server: {{backends: [\"{config.backend}\"]}}`")
    for i, agent in enumerate(config.model_repository_agents.agents):
        out += _unknown("repository agent", "repository_agents", agent.name, STANDARD_AGENTS,
                        ("model_repository_agents", "agents", i, "name"), ctx,
                        f"`server: {{repository_agents: [\"{agent.name}\"]}}`")
    return out + _batch_strategy(config, ctx)

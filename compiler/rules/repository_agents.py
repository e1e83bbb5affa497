"""model_repository_agents without any agent: a real tritonserver 2.51 crashes (SIGSEGV, every
loaded model gone) when it reads such a model (tests/judge). Which agents a server has installed
is compiler.rules.installed's matter."""
from __future__ import annotations

from compiler.rules.base import error


def check(config, ctx) -> list:
    if config.HasField("model_repository_agents") and not config.model_repository_agents.agents:
        return [error("repository-agents-empty", "model_repository_agents lists no agent; tritonserver 2.51 crashes "
                      "(SIGSEGV, taking every loaded model with it) when it reads such a model",
                      ("model_repository_agents",), hint="remove `model_repository_agents`, or name an agent")]
    return []

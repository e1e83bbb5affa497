"""model_repository_agents, as a real tritonserver 2.51 treats them (tests/judge):
- `model_repository_agents {}` without any agent makes the server crash (SIGSEGV, every model
  gone) while it reads the model;
- an agent is a library libtritonrepoagent_<name>.so in the server's repoagents directory; a
  name no server ships is refused at the poll stage ("unable to find
  'libtritonrepoagent_<name>.so'"). The standard agent is `checksum`.
"""
from __future__ import annotations

from compiler.rules.base import error, suggest

STANDARD_AGENTS = {"checksum"}


def check(config, ctx) -> list:
    if not config.HasField("model_repository_agents"):
        return []
    agents = config.model_repository_agents.agents
    if not agents:
        return [error("repository-agents-empty", "model_repository_agents lists no agent; tritonserver 2.51 crashes "
                      "(SIGSEGV, taking every loaded model with it) when it reads such a model",
                      ("model_repository_agents",), hint="remove `model_repository_agents`, or name an agent")]
    out = []
    for i, agent in enumerate(agents):
        if agent.name not in STANDARD_AGENTS:
            out.append(error("repository-agent-unknown", f"unable to find 'libtritonrepoagent_{agent.name}.so' for "
                             f"repository agent '{agent.name}': no Triton release ships it",
                             ("model_repository_agents", "agents", i, "name"),
                             hint=suggest(agent.name, STANDARD_AGENTS) or "standard agents: checksum; a custom agent "
                                  "must be installed in the server's repoagents directory"))
    return out

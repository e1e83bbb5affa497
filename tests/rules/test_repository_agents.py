from compiler.rules import repository_agents
from tests.rules.util import one, run


def test_no_agent_at_all_crashes_the_server():
    problem = one(run("model_repository_agents { }", repository_agents), "repository-agents-empty")
    assert "crashes" in problem.message and problem.path == ("model_repository_agents",)
    assert run('model_repository_agents { agents [ { name: "checksum" } ] }', repository_agents) == []
    assert run('name: "m"', repository_agents) == []

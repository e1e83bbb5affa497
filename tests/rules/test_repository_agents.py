from compiler.rules import repository_agents
from tests.rules.util import one, run


def test_no_agent_at_all_crashes_the_server():
    problem = one(run("model_repository_agents { }", repository_agents), "repository-agents-empty")
    assert "crashes" in problem.message and problem.path == ("model_repository_agents",)


def test_an_agent_no_server_ships_is_refused():
    problem = one(run('model_repository_agents { agents [ { name: "checksums" } ] }', repository_agents),
                  "repository-agent-unknown")
    assert problem.message.startswith("unable to find 'libtritonrepoagent_checksums.so'")
    assert problem.path == ("model_repository_agents", "agents", 0, "name")
    assert problem.hint == "did you mean 'checksum'?"
    assert run('model_repository_agents { agents [ { name: "checksum" } ] }', repository_agents) == []

"""Backends, repository agents and batch strategies: standard ones known, custom ones declared."""
from compiler.errors import WARNING
from compiler.rules import installed
from tests.rules.util import BASE, one, run

AGENT = 'model_repository_agents { agents [ { name: "%s" } ] }'


def test_a_misspelt_backend_is_an_error_with_a_did_you_mean():
    problem = one(run(BASE.replace('"python"', '"pyhton"'), installed, server={}), "unknown-backends")
    assert problem.is_error and problem.path == ("backend",)
    assert problem.message == "backend 'pyhton' is not one the Triton containers ship; did you mean 'python'?"
    assert '`server: {backends: ["pyhton"]}`' in problem.hint


def test_standard_backends_pass():
    for name in ("python", "onnxruntime", "tensorrtllm", "vllm", "identity", "dali", "fil", "openvino"):
        assert run(BASE.replace('"python"', f'"{name}"'), installed, server={}) == []


def test_a_custom_backend_must_be_declared():
    text = BASE.replace('"python"', '"my_custom"')
    problem = one(run(text, installed, server={}), "unknown-backends")
    assert problem.is_error and "did you mean" not in problem.message
    assert run(text, installed, server={"backends": {"my_custom"}}) == []


def test_lint_cannot_declare_so_only_a_typo_is_an_error():
    assert one(run(BASE.replace('"python"', '"pyhton"'), installed, model_file_may_complete=True),
               "unknown-backends").is_error
    problem = one(run(BASE.replace('"python"', '"my_custom"'), installed, model_file_may_complete=True),
                  "unknown-backends")
    assert problem.severity == WARNING and "unless the server has it installed" in problem.message


def test_repository_agents():
    assert run(BASE + AGENT % "checksum", installed, server={}) == []
    problem = one(run(BASE + AGENT % "checksun", installed, server={}), "unknown-repository-agents")
    assert problem.path == ("model_repository_agents", "agents", 0, "name")
    assert "did you mean 'checksum'?" in problem.message
    assert run(BASE + AGENT % "relocation", installed, server={"repository_agents": {"relocation"}}) == []


def test_a_batch_strategy_library_must_be_declared():
    text = BASE + 'parameters { key: "TRITON_BATCH_STRATEGY_PATH" value { string_value: "/opt/libbatch.so" } }'
    problem = one(run(text, installed, server={}), "unknown-batch-strategy")
    assert problem.path == ("parameters", "TRITON_BATCH_STRATEGY_PATH")
    assert "Batching library path not found" in problem.message
    assert run(text, installed, server={"batch_strategies": {"/opt/libbatch.so"}}) == []
    assert run(text, installed, model_file_may_complete=True) == []  # lint cannot know the server's files

"""Backends, repository agents and batch strategies: standard ones known, custom ones declared."""
from compiler.rules import installed
from tests.rules.util import BASE, one, run

AGENT = 'model_repository_agents { agents [ { name: "%s" } ] }'


def test_a_misspelt_backend_is_an_error_with_a_did_you_mean():
    problem = one(run(BASE.replace('"python"', '"pyhton"'), installed, server={}), "unknown-backends")
    assert problem.is_error and problem.path == ("backend",)
    assert problem.message == ("backend 'pyhton' is not one the Triton containers ship and is not declared as "
                               "installed; Triton fails to load the model unless the server has it; did you mean "
                               "'python'?")
    assert '`server: {backends: ["pyhton"]}`' in problem.hint and "`lint --backend pyhton`" in problem.hint


def test_standard_backends_pass():
    for name in ("python", "onnxruntime", "tensorrtllm", "vllm", "identity", "dali", "fil", "openvino"):
        assert run(BASE.replace('"python"', f'"{name}"'), installed, server={}) == []


def test_a_custom_backend_must_be_declared():
    text = BASE.replace('"python"', '"my_custom"')
    problem = one(run(text, installed, server={}), "unknown-backends")
    assert problem.is_error and "did you mean" not in problem.message
    assert run(text, installed, server={"backends": {"my_custom"}}) == []


def test_lint_errors_on_an_undeclared_custom_name_too_and_takes_declarations():
    # A stock Triton refuses the load (tests/judge: custom_backend_undeclared): not guessed, declared.
    text = BASE.replace('"python"', '"my_custom"')
    problem = one(run(text, installed, model_file_may_complete=True, server={}), "unknown-backends")
    assert problem.is_error and "did you mean" not in problem.message
    assert "`lint --backend my_custom`" in problem.hint
    assert run(text, installed, model_file_may_complete=True, server={"backends": {"my_custom"}}) == []


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
    assert one(run(text, installed, model_file_may_complete=True, server={}), "unknown-batch-strategy").is_error
    assert "`lint --batch-strategy /opt/libbatch.so`" in problem.hint

"""The premises of the release and backend checks, asked of the real tritonserver (the judge):
each case is a model folder loaded through the repository API, and what our rules say about the
same folder must agree with what Triton did."""
import pytest
from support.triton import write_add_one_model

from compiler import triton_releases
from compiler.lint import lint_paths
from compiler.lint.config_file import load_config
from compiler.rules import RuleContext, check_config

pytestmark = pytest.mark.triton

METRICS = ('model_metrics { metric_control [ { metric_identifier { family: "nv_inference_first_response_histogram_ms" '
           '} histogram_options { buckets: [ 1, 2, 4 ] } } ] }\n')


def _model(repo, name, extra="", files=()):
    folder = write_add_one_model(repo, name)
    config = folder / "config.pbtxt"
    config.write_text(config.read_text() + extra)
    for rel in files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text("")
    return folder


def _load(server, name):
    status, body = server.post(f"/v2/repository/models/{name}/load", {})
    return status, (body or {}).get("error", "") if isinstance(body, dict) else str(body)


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """{case: (HTTP status of the load, Triton's error, the server's Release)}."""
    from support.triton import TritonServer, tritonserver_binary

    if tritonserver_binary() is None:
        pytest.skip("tritonserver binary not installed (run scripts/bootstrap.sh)")
    repo = tmp_path_factory.mktemp("judge") / "repo"
    cases = {
        "baseline": _model(repo, "baseline"),
        "newer_field": _model(repo, "newer_field", METRICS),
        "cpu_only_bad": _model(repo, "cpu_only_bad",
                               'parameters { key: "FORCE_CPU_ONLY_INPUT_TENSORS" value { string_value: "true" } }\n'),
        "env_missing": _model(repo, "env_missing", 'parameters { key: "EXECUTION_ENV_PATH" value { string_value: '
                                                   '"$$TRITON_MODEL_DIRECTORY/env.tar.gz" } }\n'),
        "typo_backend": _model(repo, "typo_backend"),
        "typo_agent": _model(repo, "typo_agent", 'model_repository_agents { agents [ { name: "checksun" } ] }\n'),
        "batch_strategy_missing": _model(repo, "batch_strategy_missing", 'parameters { key: '
                                         '"TRITON_BATCH_STRATEGY_PATH" value { string_value: "/nonexistent/libb.so" } }\n'),
    }
    typo = cases["typo_backend"] / "config.pbtxt"
    typo.write_text(typo.read_text().replace('backend: "python"', 'backend: "pyhton"'))
    server = TritonServer(repo, "--model-control-mode=explicit", wait="live",
                          log_path=tmp_path_factory.mktemp("log") / "tritonserver.log").start()
    try:
        version = server.get("/v2")[1]["version"]
        release, _ = triton_releases.parse(".".join(version.split(".")[:2]))
        results = {name: _load(server, name) + (release,) for name in cases}
        log = server.log_text()
    finally:
        server.stop()
    return cases, results, log


def test_the_server_loads_the_baseline(judged):
    _, results, _ = judged
    assert results["baseline"][0] == 200, results["baseline"]


def test_a_field_newer_than_the_server_fails_its_load_and_the_rule_says_so(judged):
    cases, results, log = judged
    status, message, release = results["newer_field"]
    assert release is not None, "the server's version is not in the release table"
    added = triton_releases.added_in("inference.ModelConfig.model_metrics")
    if release >= added:
        pytest.skip(f"this tritonserver ({release}) knows model_metrics")
    # A config Triton cannot parse fails at the repository poll; the reason is only in the log.
    assert status != 200 and "failed to poll from model repository" in message, message
    assert 'no field named "model_metrics"' in log
    config = load_config(str(cases["newer_field"] / "config.pbtxt")).config
    problems = check_config(config, RuleContext("newer_field", versions={1}, files={"1/model.py"},
                                                triton=release)).problems
    assert [p.rule for p in problems if p.is_error] == ["triton-release"]


def test_python_parameters_the_backend_refuses(judged):
    cases, results, _ = judged
    for case, rule in (("cpu_only_bad", "python-parameter"), ("env_missing", "python-env-missing")):
        status, message, _ = results[case]
        assert status == 400, (case, message)
        found = {p.rule for p in lint_paths([str(cases[case])]) if p.is_error}
        assert found == {rule}, (case, found)


def test_a_misspelt_backend_fails_and_lint_says_did_you_mean(judged):
    cases, results, _ = judged
    status, message, _ = results["typo_backend"]
    assert status == 400 and "pyhton" in message
    (problem,) = [p for p in lint_paths([str(cases["typo_backend"])]) if p.is_error]
    assert problem.rule == "unknown-backends" and "did you mean 'python'?" in problem.message


def test_a_misspelt_repository_agent_fails_and_lint_says_did_you_mean(judged):
    cases, results, log = judged
    status, message, _ = results["typo_agent"]
    assert status != 200 and ("checksun" in message or "checksun" in log), message
    (problem,) = [p for p in lint_paths([str(cases["typo_agent"])]) if p.is_error]
    assert problem.rule == "unknown-repository-agents" and "did you mean 'checksum'?" in problem.message


def test_a_batch_strategy_the_server_does_not_have_fails_the_load(judged):
    cases, results, log = judged
    status, message, _ = results["batch_strategy_missing"]
    assert status != 200 and "Batching library path not found" in message + log, message
    config = load_config(str(cases["batch_strategy_missing"] / "config.pbtxt")).config
    problems = check_config(config, RuleContext("batch_strategy_missing", versions={1}, files={"1/model.py"},
                                                server={})).problems
    assert [p.rule for p in problems if p.is_error] == ["unknown-batch-strategy"]

"""lint knows the standard backends, agents and batch strategies; custom ones are declared with
--backend / --repository-agent / --batch-strategy or --manifest (its `server:`), never guessed:
a stock Triton refuses an undeclared one (tests/judge: custom_backend_undeclared,
repository_agent_custom_undeclared, custom_batch_strategy_absolute_missing)."""
from tests.helpers import run_cli, run_json
from tests.lint.util import write

CUSTOM = '''name: "m"
backend: "acme_scorer"
max_batch_size: 4
input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { }
model_repository_agents { agents [ { name: "vault_unseal" } ] }
parameters { key: "TRITON_BATCH_STRATEGY_PATH" value { string_value: "/opt/acme/libbatch.so" } }
'''
RULES = ["unknown-backends", "unknown-batch-strategy", "unknown-repository-agents"]


def _errors(report) -> list:
    return sorted(p["rule"] for p in report["problems"] if p["severity"] == "error")


def test_undeclared_custom_names_are_errors_whose_hint_names_the_option(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CUSTOM)
    write(tmp_path / "m" / "1" / "model.bin", "x")
    code, report, _ = run_json("lint", tmp_path / "m")
    assert code == 1 and _errors(report) == RULES
    hints = {p["rule"]: p["hint"] for p in report["problems"]}
    assert "`lint --backend acme_scorer`" in hints["unknown-backends"]
    assert "`lint --repository-agent vault_unseal`" in hints["unknown-repository-agents"]
    assert "`lint --batch-strategy /opt/acme/libbatch.so`" in hints["unknown-batch-strategy"]


def test_options_declare_them_one_at_a_time(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CUSTOM)
    write(tmp_path / "m" / "1" / "model.bin", "x")
    code, report, _ = run_json("lint", tmp_path / "m", "--backend", "acme_scorer", "--backend", "other")
    assert code == 1 and _errors(report) == RULES[1:]
    code, report, _ = run_json("lint", tmp_path / "m", "--backend", "acme_scorer", "--repository-agent",
                               "vault_unseal", "--batch-strategy", "/opt/acme/libbatch.so")
    assert code == 0 and _errors(report) == [], report


def test_a_manifest_server_block_declares_them(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CUSTOM)
    write(tmp_path / "m" / "1" / "model.bin", "x")
    write(tmp_path / "models.yaml", "version: 1\nserver:\n  backends: [acme_scorer]\n  repository_agents: [vault_unseal]\n"
                                    "  batch_strategies: [/opt/acme/libbatch.so]\nmodels: {}\n")
    code, report, _ = run_json("lint", tmp_path / "m", "--manifest", tmp_path / "models.yaml")
    assert code == 0 and _errors(report) == [], report


def test_a_misspelt_standard_name_stays_an_error_with_a_did_you_mean(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CUSTOM.replace("acme_scorer", "pyhton"))
    write(tmp_path / "m" / "1" / "model.bin", "x")
    code, report, _ = run_json("lint", tmp_path / "m", "--repository-agent", "vault_unseal",
                               "--batch-strategy", "/opt/acme/libbatch.so")
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["rule"] == "unknown-backends" and "did you mean 'python'?" in problem["message"]


def test_an_unreadable_manifest_is_a_clear_error(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CUSTOM)
    code, out, err = run_cli("lint", tmp_path / "m", "--manifest", tmp_path / "missing.yaml")
    assert code == 1 and "--manifest" in err and "Traceback" not in err
    write(tmp_path / "bad.yaml", "server:\n  backends: acme_scorer\n")
    code, out, err = run_cli("lint", tmp_path / "m", "--manifest", tmp_path / "bad.yaml")
    assert code == 1 and "server.backends must be a list of names" in err

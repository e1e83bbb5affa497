import ast
import re
from pathlib import Path

from compiler.rules import RuleContext, check_config
from compiler.rules.registry import MODULES, run_all
from tests.rules.util import BASE, config

BROKEN = '''
name: "bad name"
platform: "onnxruntime"
max_batch_size: -1
input [ { name: "x" data_type: TYPE_FP32 dims: [ 0 ] } ]
dynamic_batching { priority_levels: 2 default_priority_level: 3 }
instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]
parameters { key: "p" value { string_value: "${x}" } }
version_policy { latest { } }
'''


def test_check_config_runs_every_module():
    problems = check_config(config(BROKEN), RuleContext("bad name", versions={1})).problems
    rules = {p.rule for p in problems}
    assert {"model-name", "platform-unknown", "max-batch-size", "tensor-dims-value", "batching-default-priority",
            "instance-kind-gpus", "placeholder", "version-policy-empty"} <= rules
    assert run_all(config(BROKEN), RuleContext("bad name", versions={1})).problems == problems
    assert len(MODULES) == len(set(MODULES)) >= 10


def test_every_problem_has_a_kebab_case_rule_and_a_hint():
    problems = check_config(config(BROKEN), RuleContext("bad name", versions={1})).problems
    for problem in problems:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", problem.rule), problem.rule
        assert problem.hint, problem.rule
        assert isinstance(problem.path, tuple)


def test_a_complete_config_is_clean():
    found = check_config(config(BASE), RuleContext("m", versions={1}, files={"1/model.py"}, repository_models={"m"}))
    assert found.problems == [] and found.notes == []


ROOT = Path(__file__).resolve().parents[2]


def _rule_ids_in_source() -> set:
    """Every rule id the rules and lint emit: first string argument of error()/warning()/make(),
    second of Problem()/_warn(), third of _problem()."""
    found = set()
    for path in sorted((ROOT / "compiler" / "rules").glob("*.py")) + sorted((ROOT / "compiler" / "lint").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            index = {"error": 0, "warning": 0, "make": 0, "Problem": 1, "_warn": 1, "_problem": 2}.get(name)
            if index is not None and len(node.args) > index and isinstance(node.args[index], ast.Constant):
                found.add(node.args[index].value)
    return found


def test_every_rule_id_is_asserted_by_a_test():
    ids = _rule_ids_in_source()
    assert len(ids) >= 90
    tests = "".join(p.read_text() for folder in ("rules", "lint") for p in (ROOT / "tests" / folder).glob("test_*.py"))
    untested = sorted(rule for rule in ids if f'"{rule}"' not in tests)
    assert untested == []

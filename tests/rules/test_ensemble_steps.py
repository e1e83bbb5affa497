"""The step models of an ensemble (compiler/rules/ensemble_steps.py), reached through the
ensemble rules as check_config reaches them."""
import pytest

from compiler.errors import WARNING
from compiler.rules import ensemble
from tests.rules.test_ensemble import CHAIN, ens, model, step
from tests.rules.util import by_rule, config, one, run


def test_steps_unchecked_without_the_repository():
    problem = one(run(ens(CHAIN), ensemble, name="e"), "ensemble-step-unchecked")
    assert problem.severity == WARNING and "(a, b)" in problem.message


def test_missing_step_model():
    problem = one(run(ens(CHAIN), ensemble, name="e", repository_models={"a", "bb"}), "ensemble-step-missing")
    assert problem.message == "ensemble e contains models that are not available or ambiguous: b"
    assert problem.path == ("ensemble_scheduling", "step", 1, "model_name")
    assert problem.hint == "did you mean 'bb'?"


def test_circular_dependency_between_ensembles():
    other = config('name: "f" platform: "ensemble" ensemble_scheduling { step [ ' +
                   step("e", {"IN": "i"}, {"OUT": "o"}) + " ] }")
    text = ens(step("f", {"i": "IN"}, {"o": "OUT"}))
    problem = one(run(text, ensemble, name="e", repository_models={"e", "f"}, model_configs={"f": other}),
                  "ensemble-circular")
    assert problem.message == "circular dependency between ensembles: e -> ... -> f -> e"
    own = one(run(ens(step("e", {"i": "IN"}, {"o": "OUT"})), ensemble, name="e", repository_models={"e"}),
              "ensemble-circular")
    assert own.message == "circular dependency between ensembles: e -> ... -> e -> e"


def test_step_tensors_checked_against_the_step_config():
    steps = step("a", {"x": "IN", "nope": "IN"}, {"y": "mid", "gone": "x2"}) + ", " + step("b", {"x": "mid"}, {"y": "OUT"})
    repo = {"a": model("a", ins="x w"), "b": model("b")}
    problems = run(ens(steps), ensemble, name="e", repository_models={"a", "b"}, model_configs=repo)
    mapped = by_rule(problems, "ensemble-step-tensor")
    assert [p.message for p in mapped] == [
        "in ensemble e, ensemble tensor IN is mapping to non-existing input nope in model a",
        "in ensemble e, ensemble tensor x2 is mapped from non-existing output gone in model a"]
    assert one(problems, "ensemble-step-unmapped").message == \
        "in ensemble e, input w in model a is not mapped to any ensemble tensors"


def test_optional_step_input_may_stay_unmapped():
    repo = {"a": config('name: "a" backend: "python" max_batch_size: 8 input [ { name: "x" data_type: TYPE_FP32 '
                        'dims: [ 4 ] }, { name: "w" data_type: TYPE_FP32 dims: [ 4 ] optional: true } ] '
                        'output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]'), "b": model("b")}
    assert run(ens(CHAIN), ensemble, name="e", repository_models={"a", "b"}, model_configs=repo) == []


def test_inconsistent_data_type_and_shape():
    repo = {"a": model("a", dtype="TYPE_INT32"), "b": model("b", dims="[ 4, 4 ]")}
    problems = by_rule(run(ens(CHAIN), ensemble, name="e", repository_models={"a", "b"}, model_configs=repo),
                       "ensemble-tensor-mismatch")
    assert problems[0].message == ("in ensemble e, ensemble tensor IN: inconsistent data type: TYPE_FP32 is inferred "
                                   "from model e while TYPE_INT32 is inferred from model a")
    assert problems[-1].message == ("in ensemble e, ensemble tensor OUT: inconsistent shape: [-1,4] is inferred from "
                                   "model e while [-1,4,4] is inferred from model b")
    assert problems[-1].path == ("ensemble_scheduling", "step", 1, "output_map", "y")


def test_step_batch_size_too_small():
    repo = {"a": model("a", mbs=2), "b": model("b")}
    problem = one(run(ens(CHAIN), ensemble, name="e", repository_models={"a", "b"}, model_configs=repo),
                  "ensemble-batch-size")
    assert problem.message == ("ensemble e allows maximum batch size 4, but it contains model a which only allows "
                               "maximum batch size to be 2")


def test_inputs_from_different_decoupled_models():
    decoupled = "model_transaction_policy { decoupled: true }"
    steps = (step("r", {"x": "IN"}, {"y": "r1"}) + ", " + step("r", {"x": "IN"}, {"y": "r2"}) + ", " +
             step("join", {"x": "r1", "w": "r2"}, {"y": "OUT"}))
    repo = {"r": model("r", extra=decoupled), "join": model("join", ins="x w")}
    problem = one(run(ens(steps), ensemble, name="e", repository_models={"r", "join"}, model_configs=repo),
                  "ensemble-decoupled-branching")
    assert problem.message == ("in ensemble e, step of model 'join' receives inputs originated from different "
                               "decoupled models")


def _versioned_chain(version_a: int) -> str:
    return ens(CHAIN.replace('model_version: -1', f'model_version: {version_a}', 1))


def test_a_step_version_the_model_does_not_load():
    """Triton's QA no_required_version*: a step may name a version only if its model loads it."""
    repo = {"a": model("a"), "b": model("b")}
    ctx = {"name": "e", "repository_models": {"a", "b", "e"}, "model_configs": repo}
    versions = {"a": {1, 2}, "b": {1}}
    # The default policy loads only the latest version: 2 of a.
    assert run(_versioned_chain(2), ensemble, model_versions=versions, **ctx) == []
    problem = one(run(_versioned_chain(1), ensemble, model_versions=versions, **ctx), "ensemble-step-version")
    assert problem.message == "ensemble 'e' depends on 'a' whose required version 1 is not loaded"
    assert problem.path == ("ensemble_scheduling", "step", 0, "model_version")
    assert "loads version 2" in problem.hint
    # Under `all`, version 1 is loaded too; a version with no folder never is.
    repo["a"] = model("a", extra="version_policy { all { } }")
    assert run(_versioned_chain(1), ensemble, model_versions=versions, **ctx) == []
    assert one(run(_versioned_chain(3), ensemble, model_versions=versions, **ctx), "ensemble-step-version")
    # Without the versions of the step model (a lone config), nothing is claimed.
    assert run(_versioned_chain(3), ensemble, model_versions={}, **ctx) == []


def test_a_step_model_with_no_loaded_version():
    ctx = {"name": "e", "repository_models": {"a", "b", "e"}, "model_configs": {"a": model("a"), "b": model("b")}}
    problem = one(run(ens(CHAIN), ensemble, model_versions={"a": set(), "b": {1}}, **ctx), "ensemble-step-version")
    assert problem.message == "ensemble 'e' depends on 'a' which has no loaded version"


@pytest.mark.parametrize("policy, available, loaded", [
    ("", {1, 2, 3}, {3}),
    ("version_policy { latest { num_versions: 2 } }", {1, 5, 3}, {5, 3}),
    ("version_policy { all { } }", {1, "2", "x", "03", 0}, {0, 1, 2}),  # Triton 2.51 loads version 0
    ("version_policy { specific { versions: [ 1, 4 ] } }", {1, 2, 3}, {1}),
    ("", set(), set()),
])
def test_versions_to_load_follows_the_policy(policy, available, loaded):
    from compiler.rules.versions import versions_to_load

    assert versions_to_load(model("m", extra=policy), available) == loaded

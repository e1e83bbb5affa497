from compiler.rules import ensemble
from tests.rules.util import by_rule, config, one, run


def ens(steps: str, extra: str = "", inputs="IN", outputs="OUT", mbs=4) -> str:
    ins = ", ".join(f'{{ name: "{n}" data_type: TYPE_FP32 dims: [ 4 ] }}' for n in inputs.split())
    outs = ", ".join(f'{{ name: "{n}" data_type: TYPE_FP32 dims: [ 4 ] }}' for n in outputs.split())
    return (f'name: "e" platform: "ensemble" max_batch_size: {mbs} input [ {ins} ] output [ {outs} ] {extra} '
            f'ensemble_scheduling {{ step [ {steps} ] }}')


def step(model: str, ins: dict, outs: dict) -> str:
    maps = " ".join(f'input_map {{ key: "{k}" value: "{v}" }}' for k, v in ins.items())
    maps += " " + " ".join(f'output_map {{ key: "{k}" value: "{v}" }}' for k, v in outs.items())
    return f'{{ model_name: "{model}" model_version: -1 {maps} }}'


def model(name: str, ins="x", outs="y", dtype="TYPE_FP32", dims="[ 4 ]", mbs=8, extra="") -> object:
    i = ", ".join(f'{{ name: "{n}" data_type: {dtype} dims: {dims} }}' for n in ins.split())
    o = ", ".join(f'{{ name: "{n}" data_type: {dtype} dims: {dims} }}' for n in outs.split())
    return config(f'name: "{name}" backend: "python" max_batch_size: {mbs} input [ {i} ] output [ {o} ] {extra}')


CHAIN = step("a", {"x": "IN"}, {"y": "mid"}) + ", " + step("b", {"x": "mid"}, {"y": "OUT"})
REPO = {"a": model("a"), "b": model("b")}


def test_valid_chain_with_known_steps():
    assert run(ens(CHAIN), ensemble, name="e", repository_models={"a", "b", "e"}, model_configs=REPO) == []


def test_scheduling_on_a_non_ensemble():
    problem = one(run('name: "x" backend: "python" ensemble_scheduling { }', ensemble, name="x"), "ensemble-not-ensemble")
    assert problem.message == "ensemble scheduling cannot be set for model 'x' whose platform is not ensemble"


def test_ensemble_without_scheduling():
    problem = one(run('name: "e" platform: "ensemble"', ensemble, name="e"), "ensemble-scheduling-missing")
    assert problem.message == "ensemble scheduling must be set for ensemble e whose platform is ensemble"


def test_fields_an_ensemble_must_not_have():
    text = ens(CHAIN, 'instance_group [ { count: 1 } ] optimization { } model_warmup [ { name: "w" batch_size: 1 } ]')
    messages = [p.message for p in by_rule(run(text, ensemble, name="e"), "ensemble-field")]
    assert messages == ["instance group should not be specified for ensemble 'e'",
                        "optimization should not be specified for ensemble 'e'",
                        "model_warmup can not be specified for ensemble 'e'"]


def test_step_fields_and_empty_steps():
    assert one(run(ens(""), ensemble, name="e"), "ensemble-steps").message == "must specify 'step' for ensemble 'e'"
    problems = by_rule(run(ens('{ model_name: "a" }'), ensemble, name="e"), "ensemble-step-field")
    assert [p.message for p in problems] == ["must specify 'input_map' in step 0 of ensemble 'e'",
                                             "must specify 'output_map' in step 0 of ensemble 'e'"]


def test_tensor_written_twice():
    steps = step("a", {"x": "IN"}, {"y": "OUT"}) + ", " + step("b", {"x": "IN"}, {"y": "OUT"})
    problem = one(run(ens(steps), ensemble, name="e"), "ensemble-tensor-written-twice")
    assert problem.message == "ensemble tensor 'OUT' can appear in an output map only once for ensemble 'e' step 1"
    assert problem.path == ("ensemble_scheduling", "step", 1, "output_map", "y")


def test_unused_input_and_unwritten_outputs():
    problems = run(ens(step("a", {"x": "IN"}, {"y": "OUT"}), inputs="IN SPARE", outputs="OUT MISSING"), ensemble, name="e")
    assert one(problems, "ensemble-input-unused").message == "ensemble input 'SPARE' for ensemble e' is not used"
    assert one(problems, "ensemble-output-unwritten").message == "ensemble output 'MISSING' for ensemble e' is not used"


def test_output_depending_on_an_unwritten_tensor():
    steps = step("a", {"x": "IN", "z": "ghost"}, {"y": "OUT"})
    problems = run(ens(steps), ensemble, name="e")
    assert one(problems, "ensemble-output-unwritten").message == \
        "output 'OUT' for ensemble 'e' is not written: at least one of its depending tensors, 'ghost', is not connected"
    unused = one(problems, "ensemble-tensor-unused")
    assert unused.message == "ensemble tensor 'ghost' is unused in ensemble 'e'"
    assert "no step writes it" in unused.hint


def test_tensor_written_but_never_read():
    steps = step("a", {"x": "IN"}, {"y": "OUT", "y2": "dangling"})
    problem = one(run(ens(steps), ensemble, name="e"), "ensemble-tensor-unused")
    assert problem.path == ("ensemble_scheduling", "step", 0, "output_map", "y2")


def test_steps_in_a_cycle():
    steps = (step("a", {"x": "IN", "x2": "back"}, {"y": "fwd"}) + ", " +
             step("b", {"x": "fwd"}, {"y": "back", "y2": "OUT"}))
    problem = one(run(ens(steps), ensemble, name="e"), "ensemble-cycle")
    assert "steps 0 -> 1 -> 0 of ensemble 'e' feed each other in a cycle" in problem.message

from compiler.errors import WARNING
from compiler.rules import warmup
from compiler.rules.folder import DiskFolder
from tests.rules.util import one, run

MODEL = ('name: "m" backend: "python" max_batch_size: %d input [ { name: "IN" data_type: TYPE_FP32 dims: [ -1, 3 ] }, '
         '{ name: "OPT" data_type: TYPE_INT32 dims: [ 1 ] optional: true } ] '
         'output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 3 ] } ] ')


def sample(inputs: str, batch_size: int = 1, mbs: int = 8, extra: str = "") -> str:
    return (MODEL % mbs) + extra + f'model_warmup [ {{ name: "s" batch_size: {batch_size} inputs {inputs} }} ]'


GOOD = '{ key: "IN" value: { data_type: TYPE_FP32 dims: [ 2, 3 ] zero_data: true } }'


def test_valid_sample():
    assert run(sample(GOOD), warmup) == []


def test_batch_size_rules():
    zero = one(run(sample(GOOD, batch_size=0), warmup), "warmup-batch-size")
    assert zero.severity == WARNING and "Skipping batch 0 warmup sample" in zero.message
    nobatch = one(run(sample(GOOD, batch_size=2, mbs=0), warmup), "warmup-batch-size")
    assert nobatch.is_error and "batch_size must be 1" in nobatch.message
    over = one(run(sample(GOOD, batch_size=16), warmup), "warmup-batch-size")  # refused or a crash (tests/judge)
    assert over.is_error and "larger than max_batch_size 8" in over.message


def test_a_data_file_shorter_than_its_dims(tmp_path):
    (tmp_path / "warmup").mkdir()
    (tmp_path / "warmup" / "in.bin").write_bytes(bytes(11))
    text = sample('{ key: "IN" value: { data_type: TYPE_FP32 dims: [ 1, 3 ] input_data_file: "in.bin" } }')
    problem = one(run(text, warmup, files={"warmup/in.bin"}, model_folder=DiskFolder(str(tmp_path))), "warmup-data-size")
    assert problem.message == "warmup setting expects 12 bytes, but the data provided from in.bin only has 11 bytes"
    assert problem.path == ("model_warmup", 0, "inputs", "IN", "input_data_file")
    (tmp_path / "warmup" / "in.bin").write_bytes(bytes(4096))  # longer is fine (tests/judge)
    assert run(text, warmup, files={"warmup/in.bin"}, model_folder=DiskFolder(str(tmp_path))) == []


def test_unknown_input_name():
    problem = one(run(sample(GOOD + ' inputs { key: "INN" value: { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true } }'),
                      warmup), "warmup-unknown-input")
    assert problem.path == ("model_warmup", 0, "inputs", "INN")
    assert problem.hint == "did you mean 'IN'?"


def test_data_type_must_match():
    problem = one(run(sample('{ key: "IN" value: { data_type: TYPE_INT32 dims: [ 2, 3 ] zero_data: true } }'), warmup),
                  "warmup-data-type")
    assert problem.message == ("warmup sample 's': inference input 'IN' data-type is 'INT32', but model 'm' expects "
                               "'FP32'")
    assert problem.path == ("model_warmup", 0, "inputs", "IN", "data_type")


def test_variable_and_wrong_dims():
    variable = one(run(sample('{ key: "IN" value: { data_type: TYPE_FP32 dims: [ -1, 3 ] zero_data: true } }'), warmup),
                   "warmup-dims")
    assert variable.message == "warmup setting expects all variable-size dimensions are specified for input 'IN'"
    wrong = one(run(sample('{ key: "IN" value: { data_type: TYPE_FP32 dims: [ 2, 4 ] zero_data: true } }'), warmup),
                "warmup-dims")
    assert "Expected [-1,3], got [2,4]" in wrong.message


def test_missing_data_source_and_required_input():
    problems = run(sample('{ key: "OPT" value: { data_type: TYPE_INT32 dims: [ 1 ] } }'), warmup)
    assert one(problems, "warmup-data").message == "warmup setting expects input 'OPT' to have input_data_type set"
    assert one(problems, "warmup-missing-input").message == "warmup sample 's' is missing required input(s) ['IN']"


def test_data_file_must_be_in_warmup_folder():
    text = sample('{ key: "IN" value: { data_type: TYPE_FP32 dims: [ 2, 3 ] input_data_file: "in.bin" } }')
    problem = one(run(text, warmup, files={"in.bin"}), "warmup-data-file")
    assert problem.message == "warmup data file 'warmup/in.bin' does not exist in the model folder"
    assert run(text, warmup, files={"warmup/in.bin"}) == []
    assert run(text, warmup) == []  # files unknown
    escape = sample('{ key: "IN" value: { data_type: TYPE_FP32 dims: [ 2, 3 ] input_data_file: "../x" } }')
    assert "outside the model's warmup/ folder" in one(run(escape, warmup), "warmup-data-file").message


def test_sequence_control_inputs_may_be_warmed_up():
    controls = ('sequence_batching { control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START '
                'int32_false_true: [ 0, 1 ] } ] } ] } ')
    ok = GOOD + ' inputs { key: "START" value: { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true } }'
    assert run(sample(ok, extra=controls), warmup) == []
    bad = GOOD + ' inputs { key: "START" value: { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true } }'
    assert "expects 'INT32'" in one(run(sample(bad, extra=controls), warmup), "warmup-data-type").message


def test_batch_input_targets_may_be_named():
    batch = 'batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "N" data_type: TYPE_INT32 source_input: "IN" } ] '
    ok = GOOD + ' inputs { key: "N" value: { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true } }'
    assert run(sample(ok, extra=batch), warmup) == []
    unknown = one(run(sample(ok), warmup), "warmup-unknown-input")
    assert unknown.message.startswith(
        "warmup sample 's' names input 'N', which is not a model input, a sequence control or state input, or a batch "
        "input")
    assert unknown.severity == WARNING  # Triton 2.51 loads it (tests/judge)

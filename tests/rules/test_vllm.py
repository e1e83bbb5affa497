"""vLLM: model.json in every version Triton loads, a JSON object of engine arguments vLLM knows."""
from compiler.errors import WARNING
from compiler.rules import vllm
from compiler.rules.folder import DiskFolder
from tests.helpers import write
from tests.rules.util import BASE, one, run

VLLM = BASE.replace('"python"', '"vllm"') + "model_transaction_policy { decoupled: true }"


def check(tmp_path, versions=(1,), text=VLLM):
    return run(text, vllm, model_folder=DiskFolder(str(tmp_path)), versions=set(versions))


def test_a_valid_model_json_passes(tmp_path):
    write(tmp_path / "1" / "model.json", '{"model": "facebook/opt-125m", "gpu_memory_utilization": 0.5, '
                                         '"disable_log_requests": true, "enforce_eager": true}')
    assert check(tmp_path) == []


def test_a_version_without_model_json(tmp_path):
    (tmp_path / "1").mkdir()
    problem = one(check(tmp_path), "vllm-model-json")
    assert problem.is_error and "version 1 has no model.json" in problem.message


def test_model_json_that_is_not_a_json_object(tmp_path):
    write(tmp_path / "1" / "model.json", '{"model": "x",}')
    problem = one(check(tmp_path), "vllm-model-json")
    assert "is not valid JSON" in problem.message and "line 1" in problem.message
    write(tmp_path / "1" / "model.json", '["model"]')
    assert "is not a JSON object" in one(check(tmp_path), "vllm-model-json").message


def test_a_misspelt_engine_argument_is_an_error_with_a_did_you_mean(tmp_path):
    write(tmp_path / "1" / "model.json", '{"model": "x", "gpu_memory_utilisation": 0.5}')
    problem = one(check(tmp_path), "vllm-engine-arg")
    assert problem.is_error
    assert problem.message == ("version 1: model.json key 'gpu_memory_utilisation' is not a vLLM engine argument; "
                               "did you mean 'gpu_memory_utilization'?")
    assert "vllm/engine/arg_utils.py" in problem.hint


def test_an_unknown_argument_with_nothing_close_is_a_warning(tmp_path):
    write(tmp_path / "1" / "model.json", '{"model": "x", "zzz_future_option": 1}')
    assert one(check(tmp_path), "vllm-engine-arg").severity == WARNING


def test_only_versions_triton_loads_are_checked(tmp_path):
    (tmp_path / "1").mkdir()
    write(tmp_path / "2" / "model.json", '{"model": "x"}')
    assert check(tmp_path, versions={1, 2}) == []  # the default policy loads 2 only
    assert one(check(tmp_path, versions={1, 2}, text=VLLM + " version_policy { all { } }"), "vllm-model-json")


def test_the_engine_argument_list_notes_its_source():
    names, source = vllm.engine_args()
    assert {"model", "tensor_parallel_size", "gpu_memory_utilization", "disable_log_requests"} <= names
    assert "vllm-project/vllm" in source and "commit" in source

from compiler.errors import WARNING
from compiler.rules import RuleContext, backend
from compiler.rules.base import resolve_backend
from tests.rules.util import config, one, run


def test_known_platform_and_backend_pass():
    assert run('platform: "onnxruntime_onnx"', backend) == []
    assert run('backend: "python"', backend) == []
    assert run('platform: "ensemble"', backend) == []


def test_unknown_platform_lists_valid_platforms():
    problem = one(run('platform: "onnxruntime"', backend, name="m"), "platform-unknown")
    assert problem.message == "unexpected platform type 'onnxruntime' for m"
    assert problem.path == ("platform",)
    assert "did you mean 'onnxruntime_onnx'?" in problem.hint
    assert "tensorrt_plan" in problem.hint and "pytorch_libtorch" in problem.hint


def test_platform_typo_with_filename_is_a_pair_mismatch():
    # special_cases/invalid_platform: the backend comes from default_model_filename.
    problem = one(run('platform: "onnxruntim" default_model_filename: "model.onnx"', backend),
                  "platform-backend-mismatch")
    assert "unexpected 'platform' and 'backend' pair, got:onnxruntim, onnxruntime" in problem.message
    assert "default_model_filename" in problem.message
    assert "did you mean 'onnxruntime_onnx'?" in problem.hint


def test_platform_of_another_backend():
    problem = one(run('platform: "tensorrt_plan" backend: "onnxruntime"', backend), "platform-backend-mismatch")
    assert "got:tensorrt_plan, onnxruntime" in problem.message
    assert "belongs to backend 'tensorrt'" in problem.hint


def test_tensorflow_backend_needs_a_platform():
    problem = one(run('backend: "tensorflow"', backend), "platform-backend-mismatch")
    assert "got:, tensorflow" in problem.message
    assert problem.path == ("backend",)


def test_custom_backend_accepts_any_platform():
    assert run('backend: "my_backend" platform: "whatever"', backend) == []


def test_missing_backend_is_an_error_for_the_manifest():
    problem = one(run("max_batch_size: 1", backend, name="m"), "platform-missing")
    assert problem.is_error
    assert problem.message == "must specify 'platform' or 'backend' for 'm'"


def test_missing_backend_is_a_warning_when_lint_cannot_see_the_model_file():
    problem = one(run("max_batch_size: 1", backend, model_file_may_complete=True), "platform-missing")
    assert problem.severity == WARNING


def test_missing_backend_is_an_error_when_lint_sees_no_model_file():
    problem = one(run("max_batch_size: 1", backend, name="no_version", files={"notes.txt"},
                      model_file_may_complete=True), "platform-missing")
    assert problem.is_error
    assert problem.message.startswith("Invalid model name: Could not determine backend for model 'no_version'")


def test_backend_from_model_file_or_model_name():
    assert run("max_batch_size: 1", backend, files={"1/model.onnx"}, model_file_may_complete=True) == []
    assert run("max_batch_size: 1", backend, name="model.dali", files=set(), model_file_may_complete=True) == []


def test_resolve_backend_follows_triton_order():
    ctx = RuleContext("m", files={"1/model.savedmodel/saved_model.pb", "1/model.py"})
    resolved = resolve_backend(config(""), ctx)
    assert (resolved.platform, resolved.backend) == ("tensorflow_savedmodel", "tensorflow")
    assert resolved.source == "model file 1/model.savedmodel"
    resolved = resolve_backend(config('backend: "pytorch"'), RuleContext("m"))
    assert (resolved.platform, resolved.backend) == ("pytorch_libtorch", "pytorch")
    assert resolve_backend(config(""), RuleContext("model.identity")).backend == "identity"


def test_filename_without_backend_cannot_be_resolved():
    problem = one(run('default_model_filename: "weights.bin"', backend, model_file_may_complete=True),
                  "platform-missing")
    assert problem.message == "unexpected platform type '' for m"
    assert problem.path == ("default_model_filename",)


def test_ensemble_must_not_name_a_backend():
    problem = one(run('name: "e" platform: "ensemble" backend: "python"', backend), "platform-ensemble-backend")
    assert problem.message == "Ensemble model 'e' must have platform type 'ensemble' and empty backend type"


def test_runtime_escaping_the_backend_directory():
    problem = one(run('backend: "identity" runtime: "../dummy_runtime/libtriton_identity.so"', backend),
                  "runtime-escape")
    assert problem.message == ("backend library name '../dummy_runtime/libtriton_identity.so' escapes backend "
                               "directory")
    assert problem.path == ("runtime",)
    assert one(run('backend: "identity" runtime: "/abs/lib.so"', backend), "runtime-escape")
    assert run('backend: "identity" runtime: "sub/../libtriton_identity.so"', backend) == []
    # Up and back into the backend's own folder stays inside it: Triton 2.51 loads it (tests/judge).
    assert run('backend: "python" runtime: "../python/libtriton_python.so"', backend) == []


def test_runtime_model_py_for_the_python_backend():
    # Triton 2.51 looks for backends/python/model.py, a Python-based backend's file (tests/judge).
    problem = one(run('name: "m" backend: "python" runtime: "model.py"', backend), "runtime-python-file")
    assert problem.message.startswith("unable to find Python backend based backend library 'model.py' for model 'm'")
    assert problem.path == ("runtime",)

import pytest

from compiler.errors import WARNING
from compiler.rules import tensors
from tests.rules.util import BASE, by_rule, one, run


def io(text: str, max_batch_size: int = 8, extra: str = "") -> str:
    return f'name: "m" backend: "python" max_batch_size: {max_batch_size} {extra} {text}'


def test_complete_tensors_have_no_problem():
    assert run(BASE, tensors) == []


def test_zero_dim():
    problem = one(run(io('input [ { name: "x" data_type: TYPE_FP32 dims: [ 2, 0 ] } ]'), tensors),
                  "tensor-dims-value")
    assert problem.path == ("input", 0, "dims", 1)
    assert problem.message == ("model input 'x' dimension must be integer >= 1, or -1 to indicate a variable-size "
                               "dimension for m")


def test_variable_dim_is_allowed():
    assert run(io('output [ { name: "y" data_type: TYPE_FP32 dims: [ -1, 3 ] } ]'), tensors) == []


@pytest.mark.parametrize("dims, shape, rule", [
    ("[ 2, 3 ]", "[ 6 ]", None),
    ("[ 2, 3 ]", "[ 5 ]", "tensor-reshape-size"),
    ("[ 1 ]", "[ ]", None),                             # empty reshape of one element (batching model)
    ("[ 2 ]", "[ ]", "tensor-reshape-size"),
    ("[ 2, 4, -1, 6 ]", "[ 8, -1, 1, 6 ]", None),       # segments 8|6 on both sides
    ("[ 2, -1, 6 ]", "[ 4, -1, 3 ]", "tensor-reshape-size"),
    ("[ -1, 2 ]", "[ -1, -1, 2 ]", "tensor-reshape-variable"),
    ("[ -1 ]", "[ 4 ]", "tensor-reshape-size"),
    ("[ 4 ]", "[ 0, 4 ]", "tensor-reshape-value"),
])
def test_reshape_rules(dims, shape, rule):
    problems = run(io(f'input [ {{ name: "x" data_type: TYPE_FP32 dims: {dims} reshape {{ shape: {shape} }} }} ]'),
                   tensors)
    assert [p.rule for p in problems] == ([rule] if rule else [])
    if rule == "tensor-reshape-size":
        assert problems[0].message == "model input 'x' has different size for dims and reshape for m"
        assert problems[0].path == ("input", 0, "reshape", "shape")
    if rule == "tensor-reshape-variable":
        assert "has different number of variable-size dimensions for dims and reshape" in problems[0].message


def test_empty_reshape_of_non_batching_model():
    problem = one(run(io('output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] reshape { shape: [ ] } } ]', 0),
                      tensors), "tensor-reshape-empty")
    assert problem.path == ("output", 0, "reshape")
    assert "model output 'y' cannot have empty reshape for non-batching model as scalar tensors are not supported" \
        in problem.message


def test_missing_data_type_is_an_error_with_a_platform():
    problem = one(run(io('input [ { name: "x" dims: [ 1 ] } ]'), tensors, model_file_may_complete=True),
                  "tensor-data-type")
    assert problem.is_error
    assert problem.message == "model input 'x' must specify 'data_type' for m"
    assert problem.path == ("input", 0, "data_type")


def test_missing_data_type_is_an_error_without_evidence_of_auto_complete():
    # noautofill_platform/missing_datatype: no platform, and lint cannot see what completes it.
    text = 'max_batch_size: 4 input [ { name: "x" dims: [ 1 ] } ]'
    assert one(run(text, tensors, name="missing_datatype", model_file_may_complete=True), "tensor-data-type").is_error


def test_missing_type_and_dims_are_warnings_when_the_backend_comes_from_the_model_name():
    # The DALI case: folder 'model.dali' -> backend 'dali', which completes the config from the model file.
    text = 'max_batch_size: 0 input [ { name: "x" dims: [ 1, -1 ] } ] output [ { name: "y" } ]'
    problems = run(text, tensors, name="model.dali", model_file_may_complete=True)
    assert {p.rule for p in problems} == {"tensor-data-type", "tensor-dims"}
    assert all(p.severity == WARNING for p in problems)
    assert "'dali' backend (from the model name 'model.dali')" in problems[0].message
    strict = run(text, tensors, name="model.dali")  # the manifest: no auto-complete
    assert len(strict) == 3 and all(p.is_error for p in strict)


def test_missing_dims():
    problem = one(run(io('output [ { name: "y" data_type: TYPE_INT32 } ]'), tensors), "tensor-dims")
    assert problem.message == "model output 'y' must specify 'dims' for m"


def test_missing_name():
    problem = one(run(io('input [ { data_type: TYPE_INT32 dims: [ 1 ] } ]'), tensors), "tensor-name")
    assert problem.message == "model input must specify 'name' for m"


def test_duplicate_names():
    text = io('input [ { name: "x" data_type: TYPE_INT32 dims: [ 1 ] }, { name: "x" data_type: TYPE_INT32 dims: [ 1 ] } ]')
    problem = one(run(text, tensors), "tensor-duplicate")
    assert problem.path == ("input", 1, "name")
    assert "first as input[0]" in problem.message


def test_image_format_needs_three_dims():
    problem = one(run(io('input [ { name: "x" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 224 ] } ]'),
                      tensors), "tensor-format-dims")
    assert problem.message == "model input NHWC/NCHW require 3 dims for m"


def test_shape_tensors_only_for_tensorrt():
    text = 'platform: "onnxruntime_onnx" input [ { name: "x" data_type: TYPE_INT32 dims: [ 1 ] is_shape_tensor: true } ]'
    problem = one(run(text, tensors), "tensor-shape-tensor")
    assert problem.message == "shape tensors are only supported for TensorRT platform for m"
    assert run(text.replace("onnxruntime_onnx", "tensorrt_plan"), tensors) == []


def test_reported_messages_for_every_dim_problem():
    problems = run(io('input [ { name: "x" data_type: TYPE_FP32 dims: [ 0, -2 ] } ]'), tensors)
    assert [p.path for p in by_rule(problems, "tensor-dims-value")] == [("input", 0, "dims", 0), ("input", 0, "dims", 1)]


def test_gap_is_a_warning_when_lint_sees_the_model_the_backend_completes_from():
    text = 'name: "m" platform: "onnxruntime_onnx" input [ { name: "x" dims: [ 1 ] } ]'
    problem = one(run(text, tensors, files={"1/model.onnx"}, model_file_may_complete=True), "tensor-data-type")
    assert problem.severity == WARNING
    assert "'onnxruntime' backend fills it in from the model in 1/" in problem.message
    assert one(run(text, tensors, files={"labels.txt"}, model_file_may_complete=True), "tensor-data-type").is_error
    libtorch = 'name: "m" platform: "pytorch_libtorch" input [ { name: "x" dims: [ 1 ] } ]'
    assert one(run(libtorch, tensors, files={"1/model.pt"}, model_file_may_complete=True), "tensor-data-type").is_error


def test_non_linear_format_io():
    text = 'platform: "%s" input [ { name: "x" data_type: TYPE_FP32 dims: [ %s ] is_non_linear_format_io: true } ]'
    other = one(run(text % ("onnxruntime_onnx", "3, 4, 4"), tensors), "tensor-non-linear-format")
    assert other.message == "Non-linear IO format is only supported for the TensorRT platform for m"
    dims = one(run(text % ("tensorrt_plan", "4, 4"), tensors), "tensor-non-linear-format")
    assert dims.message == "Non-linear IO format input requires 3 dims for m"
    assert run(text % ("tensorrt_plan", "3, 4, 4"), tensors) == []

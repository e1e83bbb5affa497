from compiler.rules import RuleContext
from compiler.rules.base import (
    control_types,
    first_version_content,
    for_model,
    model_name,
    resolve_backend,
    suggest,
    triton_type,
)
from tests.rules.util import config


def test_model_name_prefers_the_config():
    assert model_name(config('name: "a"'), RuleContext("b")) == "a"
    assert model_name(config(""), RuleContext("b")) == "b"
    assert for_model(config(""), RuleContext("")) == ""
    assert for_model(config('name: "a"'), RuleContext("")) == " for a"


def test_first_version_content_is_the_lexically_first_subfolder():
    assert first_version_content(None) == ("", {})
    assert first_version_content({"labels.txt"}) == ("", {})
    assert first_version_content({"2/model.onnx", "10/model.plan", "10/x/y"}) == ("10", {"model.plan": False,
                                                                                          "x": True})


def test_resolve_backend_sources():
    assert resolve_backend(config('platform: "tensorrt_plan"'), RuleContext("m")).backend == "tensorrt"
    by_file = resolve_backend(config('default_model_filename: "model.pt"'), RuleContext("m"))
    assert (by_file.platform, by_file.backend, by_file.source) == ("pytorch_libtorch", "pytorch",
                                                                  "default_model_filename")
    python = resolve_backend(config(""), RuleContext("m", files={"1/model.py"}))
    assert (python.backend, python.source) == ("python", "model file 1/model.py")
    unknown = resolve_backend(config(""), RuleContext("m"))
    assert not unknown.resolved and unknown.unknowable
    known_empty = resolve_backend(config(""), RuleContext("m", files=set()))
    assert not known_empty.resolved and not known_empty.unknowable
    assert resolve_backend(config('platform: "ensemble"'), RuleContext("m")).resolved


def test_small_helpers():
    assert suggest("onnxruntim", ["onnxruntime_onnx", "tensorrt_plan"]) == "did you mean 'onnxruntime_onnx'?"
    assert suggest("zzz", ["abc"]) == ""
    assert suggest("onnxruntim" * 1000, ["onnxruntime_onnx"]) == ""  # not compared: difflib is quadratic
    assert triton_type(13) == "BYTES" and triton_type(11) == "FP32"
    controls = control_types(config('sequence_batching { control_input [ '
                                    '{ name: "S" control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 1 ] } ] },'
                                    '{ name: "C" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_STRING } ] } ] }'))
    assert controls == {"S": 11, "C": 13}

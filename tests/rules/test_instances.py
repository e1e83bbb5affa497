from compiler.errors import WARNING
from compiler.rules import instances
from tests.rules.util import one, run

HEAD = 'name: "m" backend: "python" '


def test_kind_gpu_is_not_an_error_offline():
    assert run(HEAD + "instance_group [ { kind: KIND_GPU count: 2 } ]", instances) == []
    assert run(HEAD + "instance_group [ { kind: KIND_GPU gpus: [ 0, 1 ] } ]", instances) == []


def test_cpu_group_with_gpus():
    problem = one(run(HEAD + "instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]", instances), "instance-kind-gpus")
    assert problem.message == "instance group m_0 of model m has kind KIND_CPU but specifies one or more GPUs"
    assert problem.path == ("instance_group", 0, "gpus")


def test_model_group_with_gpus_uses_the_group_name():
    problem = one(run(HEAD + 'instance_group [ { name: "g" kind: KIND_MODEL gpus: [ 1 ] } ]', instances),
                  "instance-kind-gpus")
    assert problem.message == "instance group g of model m has kind KIND_MODEL but specifies one or more GPUs"


def test_negative_and_impossible_gpu_ids():
    problems = run(HEAD + "instance_group [ { kind: KIND_GPU gpus: [ 0 ] }, { kind: KIND_GPU gpus: [ -1, 42 ] } ]",
                   instances)
    assert [p.path for p in problems] == [("instance_group", 1, "gpus", 0), ("instance_group", 1, "gpus", 1)]
    assert problems[0].message.startswith("instance group m_1 of model m specifies invalid or unsupported gpu id -1. "
                                          "GPUs with at least the minimum required CUDA compute compatibility")
    assert "gpu id 42." in problems[1].message


def test_auto_group_with_negative_gpu():
    problem = one(run(HEAD + "instance_group [ { gpus: [ -3 ] } ]", instances), "instance-gpu-id")
    assert "KIND_AUTO" in problem.message and "KIND_CPU but specifies one or more GPUs" in problem.message


def test_profile_only_for_tensorrt():
    problem = one(run('name: "m" platform: "onnxruntime_onnx" instance_group [ { profile: [ "0" ] } ]', instances),
                  "instance-profile")
    assert "specifies profile field which is only supported for TensorRT models" in problem.message
    bad = one(run('name: "m" platform: "tensorrt_plan" instance_group [ { profile: [ "x" ] } ]', instances),
              "instance-profile")
    assert "specifies invalid profile x" in bad.message
    assert run('name: "m" platform: "tensorrt_plan" instance_group [ { profile: [ "0", "1" ] } ]', instances) == []


def test_negative_count_and_duplicate_names_warn():
    problems = run(HEAD + 'instance_group [ { name: "g" count: -1 }, { name: "g" } ]', instances)
    assert {p.rule for p in problems} == {"instance-count", "instance-name-duplicate"}
    assert all(p.severity == WARNING for p in problems)


def test_ensembles_are_left_to_the_ensemble_rules():
    assert run('name: "e" platform: "ensemble" instance_group [ { kind: KIND_CPU gpus: [ 0 ] } ]', instances) == []

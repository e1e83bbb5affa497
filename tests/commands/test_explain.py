"""`triton-gitops explain FIELD`: Triton's description, type, default and a models.yaml example."""
from __future__ import annotations

import pytest

from compiler.manifest.explain import field_paths
from tests.helpers import run_cli, run_json


def test_a_model_field_in_text():
    code, out, err = run_cli("explain", "dynamic_batching.max_queue_delay_microseconds")
    assert (code, err) == (0, "")
    assert out == """\
models.*.dynamic_batching.max_queue_delay_microseconds
  The maximum time, in microseconds, a request will be delayed in the scheduling queue
  to wait for additional requests for batching. Default is 0.

type:     integer (proto: uint64)
default:  0 (when left out)
proto:    inference.ModelDynamicBatching.max_queue_delay_microseconds

example (models.yaml):
  models:
    my_model:
      dynamic_batching:
        max_queue_delay_microseconds: 100
"""


def test_an_enum_field_lists_its_values_with_triton_text_and_its_example_is_a_list_item():
    code, out, _ = run_cli("explain", "instance_group.kind")
    assert code == 0
    assert "type:     one of KIND_AUTO, KIND_GPU, KIND_CPU, KIND_MODEL (proto: Kind)" in out
    assert "default:  KIND_AUTO (when left out)" in out
    assert "  KIND_GPU: This instance group represents instances that must run on the GPU.\n" in out
    assert out.endswith("  models:\n    my_model:\n      instance_group:\n        - kind: KIND_GPU\n")


def test_a_manifest_key_as_json():
    code, answer, err = run_json("explain", "targets.*.url")
    assert (code, err) == (0, "")
    assert answer["field"] == "targets.*.url"
    assert answer["description"].startswith("a path (relative to the manifest), file://, s3://")
    assert (answer["type"], answer["required"], answer["default"], answer["proto"]) == ("string", True, None, "")
    assert answer["example"] == "targets:\n  prod:\n    url: s3://${MODELS_BUCKET}/triton\n"


def test_concrete_keys_and_list_indexes_read_like_the_wildcard():
    code, answer, _ = run_json("explain", "models.bert.versions.3.source")
    assert code == 0 and answer["field"] == "models.*.versions.*.source"
    assert answer["example"] == "models:\n  bert:\n    versions:\n      3:\n        source: s3://ml-artifacts/bert/2/\n"
    assert run_json("explain", "input[0].data_type")[1]["proto"] == "inference.ModelInput.data_type"


def test_short_forms_are_named():
    code, answer, _ = run_json("explain", "version_policy")
    assert code == 0
    assert answer["keys"] == ["latest", "all", "specific"]
    assert "latest: short form of {latest: {num_versions: N}}" in answer["short_forms"]
    data_type = run_json("explain", "output.data_type")[1]
    assert {"FP32", "TYPE_FP32"} <= set(data_type["values"]) and data_type["default"] == "TYPE_INVALID"


@pytest.mark.parametrize("field, message, hint", [
    ("dynamic_batching.max_queue_delay", "models.*.dynamic_batching has no key 'max_queue_delay'",
     "did you mean dynamic_batching.max_queue_delay_microseconds?"),
    ("max_queue_delay_microseconds", "neither the top level of models.yaml nor a model (models.*) has a key",
     "did you mean dynamic_batching.max_queue_delay_microseconds or sequence_batching.direct."),
    ("targets.prod.uri", "targets.* has no key 'uri' (keys: config_name, servers, storage_options, triton, url)", "did you mean targets.*.url?"),
    ("max_batch_size.x", "models.*.max_batch_size has no keys", "explain --list"),
    ("input..dims", "'input..dims' is not a field path", "explain --list"),
])
def test_an_unknown_field_is_an_error_with_a_suggestion(field, message, hint):
    code, out, err = run_cli("explain", field)
    assert (code, out) == (1, "")
    first, second = err.splitlines()
    assert first.startswith("triton-gitops: error: ") and message in first
    assert second.startswith("    hint: ") and hint in second


def test_list_prints_every_field_path():
    code, out, _ = run_cli("explain", "--list")
    assert code == 0 and out.splitlines() == field_paths()


def test_no_field_is_an_error():
    code, out, err = run_cli("explain")
    assert (code, out) == (1, "")
    assert "name a field to explain" in err


def test_the_text_names_the_release_that_added_a_field():
    from compiler.commands.explain import render_text
    from compiler.manifest.explain import explain

    answer = explain("model_metrics", releases={"inference.ModelConfig.model_metrics": "2.55"})
    text = render_text(answer)
    assert "\nadded in: Triton 2.55\n" in text
    assert "  Added in Triton 2.55." in text
    assert "added in" not in render_text(explain("model_metrics"))

"""In-place YAML edits: what changes is exactly the edited values; comments, styles and
every other byte stay."""
from __future__ import annotations

import pytest

from compiler.analyzer.yamledit import EditError, Editor
from compiler.manifest.yaml_source import load_bytes

TEXT = """\
# top comment
models:
  m:                     # the model
    max_batch_size: 8    # keep this comment
    dynamic_batching:
      max_queue_delay_microseconds: 100   # µs, on purpose
      preferred_batch_size: [4, 8]
    instance_group:
      - kind: KIND_CPU   # one CPU instance
        count: 1
    input: [{name: X, data_type: FP32, dims: [1]}]
    # where the weights are
    versions:
      1: {source: m/1}
  other: {max_batch_size: 2}
"""


def edit(text, *operations):
    editor = Editor(text)
    entry = Editor.find(Editor.find(editor.root, "models")[1], "m")[1]
    old = load_bytes(text.encode(), "t").data["models"]["m"]
    for key, value in operations:
        if value is None:
            editor.delete_key(entry, key)
        else:
            editor.set_key(entry, key, old.get(key), value, before=("files", "versions"))
    return editor.result()


def changed_lines(before, after):
    import difflib

    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_scalar_is_replaced_in_place_keeping_its_comment():
    after = edit(TEXT, ("max_batch_size", 16))
    assert changed_lines(TEXT, after) == ["-    max_batch_size: 8    # keep this comment",
                                          "+    max_batch_size: 16    # keep this comment"]


def test_a_block_mapping_changes_leaf_by_leaf():
    after = edit(TEXT, ("dynamic_batching", {"max_queue_delay_microseconds": 500, "preferred_batch_size": [4, 8]}))
    assert changed_lines(TEXT, after) == ["-      max_queue_delay_microseconds: 100   # µs, on purpose",
                                          "+      max_queue_delay_microseconds: 500   # µs, on purpose"]
    after = edit(TEXT, ("dynamic_batching", {"max_queue_delay_microseconds": 100}))
    assert changed_lines(TEXT, after) == ["-      preferred_batch_size: [4, 8]"]


def test_a_list_of_mappings_of_the_same_length_changes_item_by_item():
    after = edit(TEXT, ("instance_group", [{"kind": "KIND_GPU", "count": 2}]))
    assert changed_lines(TEXT, after) == ["-      - kind: KIND_CPU   # one CPU instance", "-        count: 1",
                                          "+      - kind: KIND_GPU   # one CPU instance", "+        count: 2"]


def test_a_list_of_another_length_is_written_anew_in_block_style():
    after = edit(TEXT, ("instance_group", [{"kind": "KIND_GPU", "count": 1, "gpus": [0]},
                                           {"kind": "KIND_GPU", "count": 1, "gpus": [1]}]))
    assert "      - {kind: KIND_GPU, count: 1, gpus: [0]}\n      - {kind: KIND_GPU, count: 1, gpus: [1]}\n" in after
    assert "KIND_CPU" not in after


def test_a_flow_value_stays_flow():
    after = edit(TEXT, ("input", [{"name": "X", "data_type": "FP32", "dims": [2]}]))
    assert changed_lines(TEXT, after) == ["-    input: [{name: X, data_type: FP32, dims: [1]}]",
                                          "+    input: [{name: X, data_type: FP32, dims: [2]}]"]


def test_a_new_key_goes_above_versions_and_the_comment_that_belongs_to_it():
    after = edit(TEXT, ("backend", "onnxruntime"))
    assert "    input: [{name: X, data_type: FP32, dims: [1]}]\n    backend: onnxruntime\n    # where the weights" \
        in after


def test_a_new_key_goes_last_when_there_is_no_anchor_even_without_a_final_newline():
    text = "models:\n  m:\n    max_batch_size: 8"
    after = edit(text, ("tuning", {"config": "m_config_1", "p99_latency_ms": 2.5}))
    assert after == "models:\n  m:\n    max_batch_size: 8\n    tuning: {config: m_config_1, p99_latency_ms: 2.5}"


def test_a_deleted_key_takes_its_lines():
    after = edit(TEXT, ("dynamic_batching", None))
    assert changed_lines(TEXT, after) == ["-    dynamic_batching:", "-      max_queue_delay_microseconds: 100   # µs, on purpose",
                                          "-      preferred_batch_size: [4, 8]"]


def test_every_edit_reads_back_as_intended_and_leaves_other_models_alone():
    after = edit(TEXT, ("max_batch_size", 32), ("instance_group", [{"kind": "KIND_GPU", "count": 4}]),
                 ("dynamic_batching", {}), ("sequence_batching", {"max_sequence_idle_microseconds": 5}))
    data = load_bytes(after.encode(), "t").data
    assert data["models"]["m"]["max_batch_size"] == 32 and data["models"]["m"]["dynamic_batching"] == {}
    assert data["models"]["m"]["instance_group"] == [{"kind": "KIND_GPU", "count": 4}]
    assert data["models"]["m"]["sequence_batching"] == {"max_sequence_idle_microseconds": 5}
    assert data["models"]["other"] == {"max_batch_size": 2}
    assert after.startswith("# top comment\n") and after.endswith("      1: {source: m/1}\n  other: {max_batch_size: 2}\n")


def test_a_flow_style_entry_cannot_be_edited_in_place():
    editor = Editor(TEXT)
    other = Editor.find(Editor.find(editor.root, "models")[1], "other")[1]
    with pytest.raises(EditError, match="flow style"):
        editor.insert(other, "backend", "python")


def test_a_crlf_file_gets_crlf_lines():
    text = TEXT.replace("\n", "\r\n")
    after = edit(text, ("max_batch_size", 16), ("backend", "python"))
    assert "\n" not in after.replace("\r\n", "")
    assert after.replace("\r\n", "\n") == edit(TEXT, ("max_batch_size", 16), ("backend", "python"))

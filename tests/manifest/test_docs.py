"""compiler/data/model_config_docs.json against the installed ModelConfig descriptor: every
field the schema offers has Triton's text, and nothing names a field tritonclient lacks."""
from __future__ import annotations

import json

from compiler.manifest.docs import DOCS_FILE, describe_field, enum_value_docs, field_doc
from compiler.proto import ModelConfig, model_config_pb2

POOL = model_config_pb2.DESCRIPTOR.pool


def _messages(descriptor, seen=None):
    """Every message reachable from ModelConfig, map entries left out (their key/value
    fields are not properties of the schema)."""
    seen = {} if seen is None else seen
    if descriptor.full_name in seen:
        return seen
    if not descriptor.GetOptions().map_entry:
        seen[descriptor.full_name] = descriptor
    for field in descriptor.fields:
        if field.message_type is not None:
            _messages(field.message_type, seen)
    return seen


MESSAGES = _messages(ModelConfig.DESCRIPTOR)


def test_every_model_config_field_has_triton_text():
    missing = [f.full_name for m in MESSAGES.values() for f in m.fields if not field_doc(f).strip()]
    assert missing == [], "rerun scripts/extract_proto_docs.py on the matching model_config.proto (docs/explain.md)"
    assert len([f for m in MESSAGES.values() for f in m.fields]) > 150


def test_no_text_for_a_field_or_value_the_descriptor_lacks():
    data = json.loads(DOCS_FILE.read_text())
    known_fields = {f.full_name for m in MESSAGES.values() for f in m.fields}
    assert set(data["fields"]) - known_fields == set()
    assert set(data["messages"]) - set(MESSAGES) == set()
    for full_name in data["enums"]:
        POOL.FindEnumTypeByName(full_name)  # raises KeyError for a stale enum
    for full_name in data["oneofs"]:
        message, oneof = full_name.rsplit(".", 1)
        assert oneof in POOL.FindMessageTypeByName(message).oneofs_by_name, full_name
    for full_name in data["enum_values"]:
        enum, value = full_name.rsplit(".", 1)
        assert value in POOL.FindEnumTypeByName(enum).values_by_name, full_name
    assert data["source"].startswith("triton-inference-server/common ")


def test_enum_values_carry_their_text():
    kinds = enum_value_docs(model_config_pb2.ModelInstanceGroup.Kind.DESCRIPTOR)
    assert list(kinds) == ["KIND_AUTO", "KIND_GPU", "KIND_CPU", "KIND_MODEL"]
    assert "must run on the GPU" in kinds["KIND_GPU"]


def test_a_release_table_adds_the_release_to_the_description():
    field = model_config_pb2.ModelDynamicBatching.DESCRIPTOR.fields_by_name["max_queue_delay_microseconds"]
    plain = describe_field(field)
    assert plain == field_doc(field) and "Added in" not in plain
    marked = describe_field(field, {field.full_name: "2.40"})
    assert marked == plain + "\n\nAdded in Triton 2.40."
    assert describe_field(field, {"inference.ModelConfig.name": "2.0"}) == plain

import json

from compiler.manifest.schema import build_schema, schema_text
from compiler.proto import ModelConfig, model_config_pb2
from tests.helpers import REPO


def test_committed_schema_is_fresh():
    committed = (REPO / "schemas/models.schema.json").read_text()
    assert committed == schema_text(), "run `triton-gitops schema > schemas/models.schema.json` and commit it"


def _walk_messages(descriptor, seen):
    if descriptor.full_name in seen:
        return
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if field.message_type is not None:
            _walk_messages(field.message_type, seen)


def test_every_message_field_and_enum_value_of_model_config_is_in_the_schema():
    schema = build_schema()
    defs = schema["$defs"]
    text = json.dumps(schema)
    seen: set = set()
    _walk_messages(ModelConfig.DESCRIPTOR, seen)
    for name in seen:
        descriptor = model_config_pb2.DESCRIPTOR.pool.FindMessageTypeByName(name)
        if descriptor.GetOptions().map_entry:
            continue
        definition = defs[name]
        if "anyOf" in definition:  # messages with short forms keep the full form as the last branch
            definition = definition["anyOf"][-1]
        assert set(definition["properties"]) >= {f.name for f in descriptor.fields}, name
    for value in model_config_pb2.DataType.DESCRIPTOR.values:
        assert f'"{value.name}"' in text
    model = defs["model"]["properties"]
    assert {f.name for f in ModelConfig.DESCRIPTOR.fields} <= set(model)
    assert {"files", "versions"} <= set(model)

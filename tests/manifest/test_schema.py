import json

from compiler import triton_releases
from compiler.manifest.schema import build_schema, schema_text
from compiler.proto import ModelConfig, model_config_pb2
from tests.helpers import REPO


def test_committed_schema_is_fresh():
    committed = (REPO / "schemas/models.schema.json").read_text()
    assert committed == schema_text(triton_releases.field_releases()), \
        "run `triton-gitops schema > schemas/models.schema.json` and commit it"


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


def _properties(node, where=""):
    """(location, property schema) of every `properties` entry anywhere in the schema."""
    if isinstance(node, dict):
        for key, value in (node.get("properties") or {}).items():
            yield f"{where}.{key}", value
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _properties(value, f"{where}[{index}]")


def test_every_property_of_the_schema_has_a_description():
    schema = build_schema()
    found = list(_properties(schema))
    assert len(found) > 220  # the root, the manifest $defs, every proto message, `model` and `defaults`
    undescribed = [where for where, prop in found if not str(prop.get("description", "")).strip()]
    assert undescribed == []


def test_descriptions_are_triton_text_and_a_release_table_marks_them():
    defs = build_schema()["$defs"]
    delay = defs["inference.ModelDynamicBatching"]["properties"]["max_queue_delay_microseconds"]
    assert delay["description"].startswith("The maximum time, in microseconds, a request will be delayed")
    assert defs["model"]["properties"]["name"]["description"].endswith("must equal the key under `models`.")
    marked = build_schema({"inference.ModelDynamicBatching.max_queue_delay_microseconds": "2.40"})["$defs"]
    text = marked["inference.ModelDynamicBatching"]["properties"]["max_queue_delay_microseconds"]["description"]
    assert text == delay["description"] + "\n\nAdded in Triton 2.40."
    assert marked["model"]["properties"]["dynamic_batching"] == defs["model"]["properties"]["dynamic_batching"]

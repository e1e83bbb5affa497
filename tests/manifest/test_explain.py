"""compiler.manifest.explain: every field path resolves, with words, a type and a valid example."""
from __future__ import annotations

from compiler.manifest.explain import explain, field_paths
from compiler.manifest.schema import build_schema
from compiler.manifest.validate import schema_problems
from compiler.manifest.yaml_source import load_bytes


def test_a_release_table_reaches_the_answer():
    field = "dynamic_batching.max_queue_delay_microseconds"
    answer = explain(field, releases={"inference.ModelDynamicBatching.max_queue_delay_microseconds": "2.40"})
    assert answer.added_in == "2.40"
    assert answer.description.endswith("Default is 0.\n\nAdded in Triton 2.40.")
    assert explain(field).added_in == ""


def test_every_listed_field_explains_itself_and_its_example_passes_the_schema():
    paths = field_paths()
    assert {"version", "targets.*.url", "models.*", "instance_group.kind", "versions.*.sha256",
            "dynamic_batching.max_queue_delay_microseconds", "model_warmup.inputs.*.data"} <= set(paths)
    schema = build_schema()
    for path in paths:
        answer = explain(path, schema=schema)
        assert answer.description.strip() and answer.type, path
        document = load_bytes(answer.example.encode(), "example.yaml")
        assert document.problems == [], (path, answer.example)
        data = {"version": 1, "models": {}, **document.data}
        assert schema_problems(data) == [], (path, answer.example)


def test_defaults_take_the_model_fields():
    answer = explain("defaults.instance_group.kind")
    assert answer.field == "defaults.instance_group.kind" and answer.proto == "inference.ModelInstanceGroup.kind"
    assert answer.example == "defaults:\n  instance_group:\n    - kind: KIND_GPU\n"
    assert not [p for p in field_paths() if p.startswith("defaults.")]  # listed once, as model fields

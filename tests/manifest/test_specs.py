"""A model with a schema error still gets Triton's rules on the rest of it, in the same run."""
from __future__ import annotations

from compiler.manifest import load_manifest
from tests.helpers import write

MANIFEST = """version: 1
defaults: {backend: python}
models:
  hello:
    max_batch_size: 2
    input: [{name: INPUT, data_type: FP33, dims: [4]}]
    output: [{name: OUTPUT, data_type: FP32, dims: [4]}]
    dynamic_batching: {preferred_batch_size: [16]}
    versions: {1: {source: m/1}}
  other:
    max_batch_size: 0
    input: [{name: X, data_type: FP32, dims: [1]}]
    output: [{name: Y, data_type: FP32, dims: [1]}]
    versions: {1: {source: m/1}}
"""


def _found(loaded) -> list:
    return sorted((p.rule, p.line) for p in loaded.problems if p.is_error)


def test_a_schema_error_does_not_hide_the_models_rule_errors(tmp_path):
    write(tmp_path / "m" / "1" / "model.py", "")
    loaded = load_manifest(write(tmp_path / "models.yaml", MANIFEST))
    assert loaded.manifest is None
    assert _found(loaded) == [("batching-preferred-size", 8), ("schema-enum", 6)]


def test_a_rule_at_the_place_the_schema_rejected_is_not_reported_twice(tmp_path):
    write(tmp_path / "m" / "1" / "model.py", "")
    # The data type is wrong (schema) and, taken out, would be missing (a rule): one error only.
    text = MANIFEST.replace("    dynamic_batching: {preferred_batch_size: [16]}\n", "")
    loaded = load_manifest(write(tmp_path / "models.yaml", text))
    assert _found(loaded) == [("schema-enum", 6)]

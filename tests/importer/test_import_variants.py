"""`import` of a repository with configs/<name>.pbtxt: the model's `configs:` (only what differs),
and compiling the manifest gives back the same configs."""
from google.protobuf import text_format

from compiler.manifest.yaml_source import load_bytes
from compiler.proto import ModelConfig
from tests.helpers import run_cli, write

BASE = """name: "m"
backend: "python"
max_batch_size: 8
input { name: "X" data_type: TYPE_FP32 dims: [ 4 ] }
output { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] }
dynamic_batching { max_queue_delay_microseconds: 100 preferred_batch_size: [ 4, 8 ] }
parameters { key: "A" value { string_value: "1" } }
parameters { key: "B" value { string_value: "2" } }
model_warmup { name: "w" batch_size: 1 inputs { key: "X" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "x.raw" } } }
"""
# Sequence batching instead of dynamic, one parameter gone, another added, two instances.
SEQUENCE = """name: "m"
backend: "python"
max_batch_size: 8
input { name: "X" data_type: TYPE_FP32 dims: [ 4 ] }
output { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] }
sequence_batching { max_sequence_idle_microseconds: 5000000 }
instance_group { kind: KIND_CPU count: 2 }
parameters { key: "B" value { string_value: "2" } }
parameters { key: "C" value { string_value: "3" } }
model_warmup { name: "w" batch_size: 1 inputs { key: "X" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "x.raw" } } }
"""
# No name (Triton fills it in), no warmup, a delay removed from the batcher.
SMALL = """backend: "python"
max_batch_size: 2
input { name: "X" data_type: TYPE_FP32 dims: [ 4 ] }
output { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] }
dynamic_batching { preferred_batch_size: [ 2 ] }
parameters { key: "A" value { string_value: "1" } }
parameters { key: "B" value { string_value: "2" } }
"""


def _parsed(text: str):
    config = text_format.Parse(text, ModelConfig())
    config.ClearField("name")
    return config


def test_configs_round_trip_through_the_manifest(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "m" / "config.pbtxt", BASE)
    write(repo / "m" / "configs" / "seq.pbtxt", SEQUENCE)
    write(repo / "m" / "configs" / "small.pbtxt", SMALL)
    write(repo / "m" / "warmup" / "x.raw", "\0" * 16)
    write(repo / "m" / "1" / "model.py", "# model\n")
    manifest = tmp_path / "gitops" / "models.yaml"
    code, out, err = run_cli("import", repo, "-o", manifest)
    assert code == 0, out + err
    assert "import-configs" not in out
    entry = load_bytes(manifest.read_bytes(), "m").data["models"]["m"]
    assert entry["configs"] == {
        # the oneof rule drops dynamic_batching: no null for it is written
        "seq": {"sequence_batching": {"max_sequence_idle_microseconds": 5000000},
                "instance_group": [{"kind": "KIND_CPU", "count": 2}], "parameters": {"A": None, "C": "3"}},
        "small": {"max_batch_size": 2, "dynamic_batching": {"max_queue_delay_microseconds": None,
                                                            "preferred_batch_size": [2]},
                  "model_warmup": None},
    }
    assert run_cli("validate", manifest)[0] == 0
    out_dir = tmp_path / "built"
    code, out, _ = run_cli("compile", manifest, "--out", out_dir)
    assert code == 0, out
    for name, original in (("seq", SEQUENCE), ("small", SMALL)):
        compiled = (out_dir / "m" / "configs" / f"{name}.pbtxt").read_text()
        assert _parsed(compiled) == _parsed(original), name
        assert 'name: "m"' in compiled
    assert _parsed((out_dir / "m" / "config.pbtxt").read_text()) == _parsed(BASE)
    assert sorted(p.name for p in (out_dir / "m" / "warmup").iterdir()) == ["x.raw"]  # shared, written once


def test_a_variant_that_does_not_parse_is_an_error_at_its_file(tmp_path):
    repo = tmp_path / "repo"
    write(repo / "m" / "config.pbtxt", BASE)
    write(repo / "m" / "configs" / "bad.pbtxt", "max_batch_size: [oops\n")
    write(repo / "m" / "warmup" / "x.raw", "\0" * 16)
    manifest = tmp_path / "models.yaml"
    code, out, err = run_cli("import", repo, "-o", manifest)
    assert code == 1
    assert "configs/bad.pbtxt does not parse as a ModelConfig" in out + err
    assert "Traceback" not in out + err
    assert not manifest.exists()

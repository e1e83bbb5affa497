"""Import of an ONNX model that relies on Triton's auto-complete writes out what Triton would fill in."""
import pytest

from compiler.importer import import_repository
from compiler.manifest.yaml_source import load_bytes
from tests.helpers import run_cli, run_json, write
from tests.rules.test_onnx_model import graph_file

onnx = pytest.importorskip("onnx")
from onnx import TensorProto


def imported(tmp_path):
    result = import_repository(str(tmp_path / "repo"), tmp_path / "models.yaml")
    return result, load_bytes(result.text.encode(), "models.yaml").data["models"]


def test_a_batching_graph_without_config_gets_inputs_outputs_and_max_batch_size(tmp_path):
    graph_file(tmp_path / "repo" / "net" / "1" / "model.onnx",
               [("X", TensorProto.FLOAT, [-1, 3, 8]), ("L", TensorProto.INT64, [-1])],
               [("Y", TensorProto.FLOAT, [-1, 3, 8])])
    result, models = imported(tmp_path)
    entry = models["net"]
    assert entry["backend"] == "onnxruntime" and entry["max_batch_size"] == 4 and entry["dynamic_batching"] == {}
    assert entry["input"] == [{"name": "X", "data_type": "FP32", "dims": [3, 8]},
                              {"name": "L", "data_type": "INT64", "dims": [1], "reshape": {"shape": []}}]
    assert entry["output"] == [{"name": "Y", "data_type": "FP32", "dims": [3, 8]}]
    assert list(entry)[:3] == ["backend", "max_batch_size", "input"]  # in the proto's order, as a person writes it
    assert any(p.rule == "import-onnx-autocomplete" and "version 1" in p.message for p in result.problems)
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    assert code == 0, report


def test_a_config_that_sets_max_batch_size_but_no_tensors(tmp_path):
    graph_file(tmp_path / "repo" / "net" / "2" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])],
               [("Y", TensorProto.FLOAT, [-1, 4])])
    write(tmp_path / "repo" / "net" / "config.pbtxt", 'platform: "onnxruntime_onnx"\nmax_batch_size: 16\n')
    _, models = imported(tmp_path)
    entry = models["net"]
    assert entry["max_batch_size"] == 16 and "dynamic_batching" not in entry
    assert entry["input"] == [{"name": "X", "data_type": "FP32", "dims": [4]}]


def test_a_graph_that_cannot_batch_keeps_its_full_shape(tmp_path):
    graph_file(tmp_path / "repo" / "net" / "1" / "model.onnx", [("X", TensorProto.FLOAT, [2, 4])],
               [("Y", TensorProto.FLOAT, [2, 4])])
    _, models = imported(tmp_path)
    assert "max_batch_size" not in models["net"]
    assert models["net"]["input"] == [{"name": "X", "data_type": "FP32", "dims": [2, 4]}]


def test_a_complete_config_is_not_touched(tmp_path):
    graph_file(tmp_path / "repo" / "net" / "1" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])],
               [("Y", TensorProto.FLOAT, [-1, 4])])
    config = ('backend: "onnxruntime"\nmax_batch_size: 2\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ 4 ] } ]\n'
              'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] } ]\n')
    write(tmp_path / "repo" / "net" / "config.pbtxt", config)
    result, models = imported(tmp_path)
    assert models["net"]["max_batch_size"] == 2
    assert not any(p.rule == "import-onnx-autocomplete" for p in result.problems)


def test_a_file_that_is_not_onnx_is_left_to_the_server_with_a_note(tmp_path, capsys):
    write(tmp_path / "repo" / "net" / "1" / "model.onnx", "not a graph")
    result, models = imported(tmp_path)
    assert "input" not in models["net"]
    (note,) = result.notes
    assert note.key == "onnx-read" and "model.onnx is not readable as ONNX" in note.text
    assert capsys.readouterr() == ("", "")  # returned, not printed: the command shows it
    code, out, err = run_cli("import", str(tmp_path / "repo"), "-o", "-", cwd=tmp_path)
    assert code == 0 and load_bytes(out.encode(), "-").data["models"]["net"]["backend"] == "onnxruntime"
    assert err.count("note: ") == 1 and f"note: {note.text}\n" in err

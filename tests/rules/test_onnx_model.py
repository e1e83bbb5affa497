"""ONNX Runtime models: the config's inputs and outputs against the graph, read with `onnx`."""
import json
import sys

import pytest

from compiler.notes import Note
from compiler.rules import onnx_model
from compiler.rules.folder import DiskFolder
from tests.helpers import run_cli, run_json, write
from tests.rules.util import by_rule, one, run

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper


def graph_file(path, inputs, outputs, initializers=()):
    """An Identity-style graph: each output is a node over the first input (shapes as given)."""
    def info(name, elem, dims):
        return helper.make_tensor_value_info(name, elem, [d if d != -1 else "batch" for d in dims])

    nodes = [helper.make_node("Identity", [inputs[0][0]], [name]) for name, _, _ in outputs]
    inits = [helper.make_tensor(name, TensorProto.FLOAT, [1], [0.0]) for name in initializers]
    graph = helper.make_graph(nodes, "g", [info(*i) for i in inputs] + [info(n, TensorProto.FLOAT, [1])
                                                                        for n in initializers],
                              [info(*o) for o in outputs], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


ONNX = '''name: "m" backend: "onnxruntime" max_batch_size: 8
input [ { name: "X" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 4 ] } ]
'''


@pytest.fixture
def folder(tmp_path):
    graph_file(tmp_path / "1" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])], [("Y", TensorProto.FLOAT, [-1, 4])],
               initializers=["W"])
    return DiskFolder(str(tmp_path))


def check(text, folder, versions=(1,)):
    return run(text, onnx_model, model_folder=folder, versions=set(versions))


def test_a_config_that_matches_the_graph_passes(folder):
    assert check(ONNX, folder) == []


def test_an_input_the_graph_does_not_have(folder):
    problem = one(check(ONNX.replace('name: "X"', 'name: "x"'), folder), "onnx-io")
    assert problem.path == ("input", 0, "name")
    assert problem.message == "version 1: unexpected inference input 'x', allowed inputs are: X"


def test_a_data_type_the_graph_does_not_have(folder):
    problem = one(check(ONNX.replace("TYPE_FP32 dims: [ 4 ] } ]\noutput", "TYPE_INT64 dims: [ 4 ] } ]\noutput"),
                        folder), "onnx-io")
    assert problem.path == ("input", 0, "data_type")
    assert "configuration expects datatype TYPE_INT64 for input 'X', model provides TYPE_FP32" in problem.message


def test_dims_and_rank_against_the_graph(folder):
    problem = one(check(ONNX.replace("dims: [ 4 ] } ]\noutput", "dims: [ 5 ] } ]\noutput"), folder), "onnx-shape")
    assert problem.path == ("input", 0, "dims") and "shape [-1,4]" in problem.message
    assert one(check(ONNX.replace("dims: [ 4 ] } ]\noutput", "dims: [ 2, 2 ] } ]\noutput"), folder), "onnx-shape")
    # An input dim of -1 against a fixed graph dim is refused too; a graph dim of -1 accepts any input dim.
    assert one(check(ONNX.replace("dims: [ 4 ] } ]\noutput", "dims: [ -1 ] } ]\noutput"), folder), "onnx-shape")


def test_without_batching_the_whole_shape_is_compared(folder):
    text = ONNX.replace("max_batch_size: 8", "max_batch_size: 0")
    assert len(by_rule(check(text, folder), "onnx-shape")) == 2
    assert check(text.replace("dims: [ 4 ]", "dims: [ -1, 4 ]"), folder) == []


def test_batching_needs_a_dynamic_first_dimension(tmp_path):
    graph_file(tmp_path / "1" / "model.onnx", [("X", TensorProto.FLOAT, [8, 4])], [("Y", TensorProto.FLOAT, [8, 4])])
    problems = by_rule(check(ONNX, DiskFolder(str(tmp_path))), "onnx-shape")
    assert len(problems) == 2 and "the first dimension must be -1" in problems[0].message


def test_outputs_are_compared_exactly(tmp_path):
    graph_file(tmp_path / "1" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])], [("Y", TensorProto.FLOAT, [-1, -1])])
    folder = DiskFolder(str(tmp_path))
    assert one(check(ONNX, folder), "onnx-shape").path == ("output", 0, "dims")
    assert check(ONNX.replace("dims: [ 4 ] } ]\n", "dims: [ -1 ] } ]\n").replace(
        'input [ { name: "X" data_type: TYPE_FP32 dims: [ -1 ] } ]', 'input [ { name: "X" data_type: TYPE_FP32 '
        'dims: [ 4 ] } ]'), folder) == []


def test_the_number_of_inputs_counts_the_graphs_non_initializer_inputs(tmp_path):
    graph_file(tmp_path / "1" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4]), ("Z", TensorProto.FLOAT, [-1, 4])],
               [("Y", TensorProto.FLOAT, [-1, 4])])
    problem = one(check(ONNX, DiskFolder(str(tmp_path))), "onnx-io")
    assert problem.message == "version 1: configuration expects 1 inputs, model provides 2 (X, Z)"


def test_a_model_onnx_folder_holds_the_graph(tmp_path):
    graph_file(tmp_path / "1" / "model.onnx" / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])],
               [("Y", TensorProto.FLOAT, [-1, 4])])
    write(tmp_path / "1" / "model.onnx" / "weights.bin", "")
    assert check(ONNX, DiskFolder(str(tmp_path))) == []
    assert one(check(ONNX.replace('name: "Y"', 'name: "Z"'), DiskFolder(str(tmp_path))), "onnx-io")


def test_auto_complete_fills_what_the_config_leaves_out(folder):
    assert check('name: "m" backend: "onnxruntime" max_batch_size: 8', folder) == []


def test_not_an_onnx_file_is_left_alone_with_a_note_and_nothing_printed(tmp_path, capsys):
    import random

    write(tmp_path / "1" / "model.onnx", "")
    (note,) = check(ONNX, DiskFolder(str(tmp_path)))
    assert note == Note("onnx-read", f"{tmp_path / '1' / 'model.onnx'} is not readable as ONNX (empty file): its "
                                     "graph is not checked (nor that of any other such file this run)")
    (tmp_path / "1" / "model.onnx").write_bytes(random.Random(7).randbytes(2_000_000))
    (note,) = check(ONNX, DiskFolder(str(tmp_path)))
    assert note.key == "onnx-read" and "is not readable as ONNX" in note.text
    assert capsys.readouterr() == ("", "")  # the rules return notes; the command shows them


def test_a_git_lfs_pointer_gets_no_graph_note(tmp_path):
    """A pointer where the model should be is the source's own located error (artifacts/lfs.py);
    the rule says nothing more, and read_graph (which the importer shows) says what the file is."""
    pointer = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 524288000\n")
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "model.onnx").write_bytes(pointer)
    assert check(ONNX, DiskFolder(str(tmp_path))) == []
    note = onnx_model.read_graph(tmp_path / "1" / "model.onnx")
    assert note == Note("onnx-lfs-pointer", f"{tmp_path / '1' / 'model.onnx'} is a Git LFS pointer, not the model "
                                            "file: its graph is not checked")


def test_weights_are_skipped_not_parsed(tmp_path):
    """A graph whose initializer carries 8 MB of raw data reads as fast as any: only names are looked at."""
    import numpy as np
    from onnx import numpy_helper

    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 4])
    weights = numpy_helper.from_array(np.zeros((2048, 1024), dtype=np.float32), "W")
    graph = helper.make_graph([helper.make_node("Identity", ["X"], ["Y"])], "g",
                              [x, helper.make_tensor_value_info("W", TensorProto.FLOAT, [2048, 1024])], [y],
                              initializer=[weights])
    onnx.save(helper.make_model(graph), str(tmp_path / "m.onnx"))
    inputs, outputs = onnx_model.read_graph(tmp_path / "m.onnx")
    assert [(t.name, t.data_type, t.dims) for t in inputs] == [("X", "TYPE_FP32", [-1, 4])]
    assert [t.name for t in outputs] == ["Y"]


def test_without_the_onnx_package_the_check_is_skipped_with_a_note(folder, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    assert check(ONNX.replace('name: "X"', 'name: "x"'), folder) == [onnx_model.NO_ONNX]
    assert check(ONNX, folder) == [onnx_model.NO_ONNX]
    assert "triton-gitops[onnx]" in onnx_model.NO_ONNX.text
    assert capsys.readouterr() == ("", "")


def test_lint_shows_the_note_once(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    for name in ("a", "b"):  # two models, two versions each: one note
        for version in (1, 2):
            graph_file(tmp_path / "repo" / name / str(version) / "model.onnx", [("X", TensorProto.FLOAT, [-1, 4])],
                       [("Y", TensorProto.FLOAT, [-1, 4])])
        write(tmp_path / "repo" / name / "config.pbtxt", ONNX.replace('name: "m"', f'name: "{name}"')
              + "version_policy: { all { } }\n")
    code, out, err = run_cli("lint", tmp_path / "repo", "--output", "json")
    assert code == 0 and json.loads(out)["problems"] == []
    assert err == f"note: {onnx_model.NO_ONNX.text}\n"


def test_validate_finds_it_in_a_manifest_version_file(tmp_path):
    graph_file(tmp_path / "src" / "net.onnx", [("X", TensorProto.FLOAT, [-1, 4])], [("Y", TensorProto.FLOAT, [-1, 4])])
    write(tmp_path / "models.yaml", "version: 1\nmodels:\n  m:\n    backend: onnxruntime\n    max_batch_size: 8\n"
                                    "    input: [{name: X, data_type: INT32, dims: [4]}]\n"
                                    "    output: [{name: Y, data_type: FP32, dims: [4]}]\n"
                                    "    versions: {1: {source: src/net.onnx}}\n")
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["rule"] == "onnx-io"
    assert (problem["path"], problem["line"]) == ("models.m.input[0].data_type", 6)

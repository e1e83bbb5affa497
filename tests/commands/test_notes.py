"""Notes (compiler/notes.py) as the commands show them: on stderr, each kind once per run, and
the same on every run, whether it is computed, answered from the per-model result cache
(compiler/fastpath/results.py), replayed from a kept answer (compiler/fastpath/verdict.py, the
build record), or run with the fast path off."""
from __future__ import annotations

import json
import random
import sys

import pytest

from compiler.commands import plan, validate
from compiler.fastpath import verdict
from compiler.rules import onnx_model
from compiler.storage import files as storage_files
from tests.helpers import run_cli, write

# Two ONNX Runtime models whose version files are not ONNX, and no `triton:`: three notes found
# (a model's file, the other's, the missing key), two kinds shown.
MODEL = '''    backend: onnxruntime
    max_batch_size: 8
    input: [{name: X, data_type: FP32, dims: [4]}]
    output: [{name: Y, data_type: FP32, dims: [4]}]
'''
MANIFEST = ("version: 1\ntargets:\n  local: {url: build/model_repository}\nmodels:\n"
            "  a:\n" + MODEL + "    versions: {1: {source: src/a.onnx}}\n"
            "  b:\n" + MODEL + "    versions: {1: {source: src/b.onnx}}\n")


@pytest.fixture
def project(tmp_path, monkeypatch):
    rnd = random.Random(15)
    for name in ("a", "b"):
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / f"{name}.onnx").write_bytes(rnd.randbytes(4096))
    write(tmp_path / "models.yaml", MANIFEST)
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRITON_GITOPS_FASTPATH", raising=False)
    return tmp_path


@pytest.fixture
def graphs_read(monkeypatch) -> list:
    """The ONNX files the rules read (none when their findings come from the result cache)."""
    calls: list = []
    plain = onnx_model.read_graph

    def counting(path):
        calls.append(path)
        return plain(path)

    monkeypatch.setattr(onnx_model, "read_graph", counting)
    return calls


def _expected(project) -> str:
    first = onnx_model.read_graph(project / "src" / "a.onnx")
    assert first.key == "onnx-read", first
    return (f"note: {first.text}\n"
            "note: models.yaml does not say which Triton serves it; add e.g. `triton: \"24.10\"` (the container tag "
            f"or version you run, up to {_newest()}) and what that release does not know becomes an error\n")


def _newest() -> str:
    from compiler import triton_releases

    return triton_releases.newest().container


def _runs(project, monkeypatch, args: tuple, counted, computed_calls: list) -> list:
    """[(code, stdout, stderr, how)] of `args`, as text and JSON: computed, from the per-model
    cache, kept and then replayed, and with the fast path off."""
    out = []

    def run(how: str):
        for output in ("text", "json"):
            before = len(counted), len(computed_calls)
            code, stdout, stderr = run_cli(*args, "--output", output, cwd=project)
            if output == "json":
                json.loads(stdout)  # stdout stays JSON: the notes are on stderr only
            out.append((code, stdout, stderr, how, output,
                        len(counted) > before[0], len(computed_calls) > before[1]))

    # The files were written just now: no racy window here (tests/fastpath covers it), or neither
    # cache would keep anything.
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    with monkeypatch.context() as patched:  # no whole answer kept: the second run takes the per-model cache
        patched.setattr(verdict._Kept, "_keep", lambda *args, **kwargs: None)
        run("computed")
        run("per-model cache")
    run("kept")
    run("replayed")
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "0")
    run("fast path off")
    return out


def _check(runs: list, expected: str, code: int) -> None:
    for got_code, _stdout, stderr, how, output, _read, _computed in runs:
        assert (got_code, stderr) == (code, expected), (how, output, stderr)
    for output in ("text", "json"):
        assert len({stdout for _, stdout, _, _, o, _, _ in runs if o == output}) == 1, output
    read = {(how, output): graphs for _, _, _, how, output, graphs, _ in runs}
    computed = {(how, output): c for _, _, _, how, output, _, c in runs}
    # Each way was taken: the graphs read the first time only (and with the fast path off), the
    # answer replayed without computing.
    assert read[("computed", "text")] and read[("fast path off", "text")]
    assert not read[("per-model cache", "text")] and not read[("per-model cache", "json")]
    assert computed[("per-model cache", "text")] and not computed[("replayed", "text")]
    assert not computed[("replayed", "json")]


def test_validate_shows_each_note_once_and_the_same_every_run(project, monkeypatch, graphs_read):
    calls: list = []
    plain = validate._answer
    monkeypatch.setattr(validate, "_answer", lambda *args: calls.append(1) or plain(*args))
    runs = _runs(project, monkeypatch, ("validate", "models.yaml"), graphs_read, calls)
    _check(runs, _expected(project), 0)


def test_plan_shows_each_note_once_and_the_same_every_run(project, monkeypatch, graphs_read):
    calls: list = []
    plain = plan._run
    monkeypatch.setattr(plan, "_run", lambda *args: calls.append(1) or plain(*args))
    runs = _runs(project, monkeypatch, ("plan", "models.yaml", "--target", "local"), graphs_read, calls)
    _check(runs, _expected(project), 2)  # the target is empty: a plan with work


@pytest.mark.parametrize("args", [("compile", "models.yaml", "--out", "out"), ("sync", "models.yaml", "--target",
                                  "local"), ("lock", "models.yaml"), ("targets", "models.yaml")])
def test_every_command_that_loads_the_manifest_shows_them_once(project, args, monkeypatch):
    loads = _count_compile_loads(monkeypatch)
    expected = _expected(project)
    for _ in range(2):  # the second compile is answered from its build record, the second sync has no work
        code, _out, err = run_cli(*args, cwd=project)
        assert code == 0 and err.count("note: ") == 2, (args, err)
        assert expected.splitlines()[0] in err.splitlines() and expected.splitlines()[1] in err.splitlines(), err
    if args[0] == "compile":
        assert len(loads) == 1, "the second compile was answered from the build record"


def _count_compile_loads(monkeypatch) -> list:
    from compiler.commands import compile as compile_command

    calls: list = []
    plain = compile_command.load_or_report
    monkeypatch.setattr(compile_command, "load_or_report", lambda *args: calls.append(1) or plain(*args))
    return calls


def test_installing_onnx_brings_the_graph_checks_back(tmp_path, monkeypatch):
    """Whether the onnx package is there is part of every kept answer's key: without it the rules
    skip the graph (a note says so); once it is installed, a kept answer must not keep skipping it."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from compiler.compile import tool_stamp

    graph = helper.make_graph([helper.make_node("Identity", ["X"], ["Y"])], "g",
                              [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 4])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 4])])
    (tmp_path / "src").mkdir()
    onnx.save(helper.make_model(graph), str(tmp_path / "src" / "a.onnx"))
    write(tmp_path / "models.yaml", 'version: 1\ntriton: "24.10"\nmodels:\n  a:\n'
          + MODEL.replace("name: X", "name: x") + "    versions: {1: {source: src/a.onnx}}\n")
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRITON_GITOPS_FASTPATH", raising=False)
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    loads = _count_compile_loads(monkeypatch)

    def runs() -> list:
        monkeypatch.setattr(tool_stamp, "_FINGERPRINT", [])  # a new process would take it anew
        return [run_cli(*args, cwd=tmp_path)[::2] for args in [("validate", "models.yaml")] * 2
                + [("compile", "models.yaml", "--out", "out")] * 2]

    monkeypatch.setitem(sys.modules, "onnx", None)  # not installed: `import onnx` fails, find_spec finds none
    without = runs()
    assert without == [(0, f"note: {onnx_model.NO_ONNX.text}\n")] * 4 and len(loads) == 1  # kept, then replayed
    monkeypatch.setitem(sys.modules, "onnx", onnx)  # installed
    found = runs()
    assert [code for code, _ in found] == [1] * 4 and all(err == "" for _, err in found), found
    assert len(loads) == 3  # the build record of the run without onnx was not used; a failed compile keeps none

"""The per-model result cache (compiler/fastpath/results.py) gives the answers the plain code
gives: the same problems at the same lines, the same files, the same plan; and each part of its
key invalidates what depends on it (an edited model, a touched source file, a changed model an
ensemble references, another `triton:` release)."""
from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

import pytest

from compiler.answers import PLAIN
from compiler.artifacts.settings import Settings
from compiler.storage import files as storage_files
from compiler.storage.files import stat_key
from tests.helpers import REPO, coarse_stamps, run_json


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the example project, with a cache folder of its own."""
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(REPO / "models.yaml", folder / "models.yaml")
    shutil.copytree(REPO / "examples", folder / "examples")
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRITON_GITOPS_FASTPATH", raising=False)
    return folder


def _answers(folder: Path, monkeypatch, fastpath: bool) -> tuple:
    """What validate and plan --target local say, as JSON, with the fast path on or off."""
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if fastpath else "0")
    validate = run_json("validate", "models.yaml", cwd=folder)
    plan = run_json("plan", "models.yaml", "--target", "local", cwd=folder)
    return validate[:2], plan[:2]


def _cache_files(tmp_path) -> list:
    return sorted((tmp_path / "cache" / "results").glob("*.bin"))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_same_answers_cold_warm_and_without_the_cache(project, monkeypatch, tmp_path):
    plain = _answers(project, monkeypatch, fastpath=False)
    assert _cache_files(tmp_path) == []  # off means off: nothing written
    cold = _answers(project, monkeypatch, fastpath=True)
    (cache,) = _cache_files(tmp_path)
    written = cache.stat().st_mtime_ns
    warm = _answers(project, monkeypatch, fastpath=True)
    assert plain == cold == warm
    assert plain[0][0] == 0 and plain[1][0] == 2  # valid; the target is empty: a plan with work
    assert cache.stat().st_mtime_ns == written  # the warm runs were answered from it: nothing new to write


@pytest.mark.parametrize("change", ["edited model", "touched source", "referenced model", "triton release"])
def test_each_key_part_invalidates_what_depends_on_it(project, monkeypatch, change):
    manifest = project / "models.yaml"
    warmup = project / "examples" / "ones.bin"
    if change == "touched source":  # text_classifier's warmup sample from a file Triton's rules measure
        warmup.write_bytes(b"\0" * 16)  # 4 x FP32
        _edit(manifest, "FEATURES: {data_type: FP32, dims: [4], data: [1, 1, 1, 1]}",
              "FEATURES: {data_type: FP32, dims: [4], file: examples/ones.bin}")
    if change == "triton release":
        _edit(manifest, 'triton: "24.10"', 'triton: "25.11"')  # Triton 2.63
        _edit(manifest, "ensemble_scheduling:\n      step:", "ensemble_scheduling:\n      max_inflight_requests: 4\n"
              "      step:")  # came with 2.63
    before = _answers(project, monkeypatch, fastpath=True)
    assert before == _answers(project, monkeypatch, fastpath=True)  # cached now
    assert before[0][0] == 0, before[0]

    if change == "edited model":
        _edit(manifest, "reshape: {shape: [2, 2]}", "reshape: {shape: [3, 3]}")
    elif change == "touched source":
        warmup.write_bytes(b"\0" * 12)  # the manifest's text is the same; only the source changed
    elif change == "referenced model":  # preprocess's output no longer fits the step after it
        _edit(manifest, "output: [{name: FEATURES, data_type: FP32, dims: [4]}]",
              "output: [{name: FEATURES, data_type: FP32, dims: [5]}]")
    else:
        _edit(manifest, 'triton: "25.11"', 'triton: "25.10"')

    after = _answers(project, monkeypatch, fastpath=True)
    assert after == _answers(project, monkeypatch, fastpath=False)
    assert after[0][0] == 1, "the change must be found"
    errors = [p for p in after[0][1]["problems"] if p["severity"] == "error"]
    where = {"edited model": "models.text_classifier", "touched source": "models.text_classifier",
             "referenced model": "models.classify_text", "triton release": "models.classify_text"}[change]
    assert any(p["path"].startswith(where) for p in errors), errors
    if change == "triton release":
        assert any(p["rule"] == "triton-release" for p in errors), errors


def _poison(cache: Path, header: bytes = b"") -> None:
    """Every cached config.pbtxt replaced by a wrong one (and the header, if given)."""
    raw = cache.read_bytes()
    head, _, payload = raw.partition(b"\n")
    fingerprint, _, payload = payload.partition(b"\n")
    data = marshal.loads(payload)
    data["render"] = dict.fromkeys(data["render"], "# poisoned\n")
    cache.write_bytes(head + b"\n" + (header or fingerprint) + b"\n" + marshal.dumps(data))


def test_a_cache_of_another_tool_version_is_never_read(project, monkeypatch, tmp_path):
    plain = _answers(project, monkeypatch, fastpath=False)
    _answers(project, monkeypatch, fastpath=True)
    (cache,) = _cache_files(tmp_path)
    _poison(cache)  # same tool: the poisoned answers are used (so the check below can fail)
    assert _answers(project, monkeypatch, fastpath=True) != plain
    _poison(cache, header=b"0" * 64)  # written by other code: ignored, then replaced
    assert _answers(project, monkeypatch, fastpath=True) == plain
    assert _answers(project, monkeypatch, fastpath=True) == plain


@pytest.mark.parametrize("content", [b"", b"garbage", b"triton-gitops results 1\n", None])
def test_a_corrupt_or_foreign_cache_file_is_ignored(project, monkeypatch, tmp_path, content):
    plain = _answers(project, monkeypatch, fastpath=False)
    _answers(project, monkeypatch, fastpath=True)
    (cache,) = _cache_files(tmp_path)
    if content is None:  # truncated in the middle of the payload
        content = cache.read_bytes()[: cache.stat().st_size // 2]
    cache.write_bytes(content)
    assert _answers(project, monkeypatch, fastpath=True) == plain
    assert len(cache.read_bytes()) > 1000  # rewritten whole


def test_an_unwritable_cache_folder_is_no_error(project, monkeypatch, tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    plain = _answers(project, monkeypatch, fastpath=False)
    assert _answers(project, monkeypatch, fastpath=True) == plain


def test_off_is_a_pass_through(monkeypatch):
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "0")
    from compiler import fastpath

    assert fastpath.results_for("models.yaml", Settings()) is PLAIN
    assert fastpath.target_reader("s3://bucket/x", ("models.yaml",)) is None


def _loaded(manifest: Path, monkeypatch, fastpath: bool) -> tuple:
    """Every problem (located) and every file of the tree, as load_and_build gives them."""
    from compiler.fastpath import results_for
    from compiler.pipeline import load_and_build

    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if fastpath else "0")
    settings = Settings.for_run()
    results = results_for(manifest, settings)  # as the commands hand it to the stages
    assert (results is not PLAIN) == fastpath
    loaded, tree = load_and_build(manifest, settings, results=results)
    files = None if tree is None else [(e.path, e.kind, e.size, e.data, e.source, e.sha256) for e in tree.entries]
    return [p.as_dict() for p in loaded.problems], files


def test_the_judge_cases_get_the_same_answers_with_and_without_the_cache(tmp_path, monkeypatch):
    """Every case tests/judge runs against a real tritonserver, imported as a manifest: the same
    problems and files plain, cold and warm (so tests/judge's agreement holds both ways)."""
    from compiler.errors import FatalError
    from compiler.importer import import_repository
    from tests.judge.generator import generate, write_case
    from tests.judge.judge import read_verdicts
    from tests.judge.test_validate_agreement import VERDICTS

    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    meta, _ = read_verdicts(VERDICTS)
    compared = 0
    for case in generate(int(meta["seed"])):
        root = tmp_path / "cases" / case.id
        write_case(case, root)
        manifest = tmp_path / "manifests" / f"{case.id}.yaml"
        try:
            if any(p.is_error for p in import_repository(str(root), manifest).problems):
                continue
        except FatalError:
            continue
        plain = _loaded(manifest, monkeypatch, fastpath=False)
        assert _loaded(manifest, monkeypatch, fastpath=True) == plain, case.id
        assert _loaded(manifest, monkeypatch, fastpath=True) == plain, case.id
        compared += 1
    assert compared > 100


@pytest.mark.parametrize("where", ["storage options", "url user info", "url query", "none"])
def test_a_manifest_that_may_hold_a_credential_is_not_kept_on_disk(project, monkeypatch, tmp_path, where):
    """The parsed manifest is cached only when no credential can be written in it literally; a
    secret must not outlive the run in the cache folder."""
    secret = "AKIACACHEDSECRETK3Y9"
    target = {
        "storage options": f"s3://bucket/models, storage_options: {{key: {secret}, secret: x{secret}}}",
        "url user info": f"s3://{secret}:pw@bucket/models",
        "url query": f"az://container/models?sig={secret}",
        "none": "s3://bucket/models",
    }[where]
    _edit(project / "models.yaml", "  local: {url: build/model_repository}",
          f"  local: {{url: build/model_repository}}\n  remote: {{url: {target}}}")
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1")
    for _ in range(2):
        assert run_json("validate", "models.yaml", cwd=project)[0] == 0
    (cache,) = _cache_files(tmp_path)
    payload = cache.read_bytes()
    assert secret.encode() not in payload
    data = marshal.loads(payload.split(b"\n", 2)[2])
    assert (len(data["doc"]) == 1) == (where == "none"), data["doc"].keys()  # the safe one is still cached


ONNX_MANIFEST = """\
version: 1
models:
  m:
    backend: onnxruntime
    max_batch_size: 8
    input: [{name: X, data_type: FP32, dims: [4]}]
    output: [{name: Y, data_type: FP32, dims: [4]}]
    versions:
      1: {source: src/model.onnx}
"""


@pytest.fixture
def onnx_project(tmp_path, monkeypatch):
    """One ONNX Runtime model whose graph matches its config, a cache folder of its own, and
    the rules' runs counted (none when their findings come from the result cache)."""
    pytest.importorskip("onnx")
    from compiler.rules import registry

    folder = tmp_path / "project"
    _graph(folder / "src" / "model.onnx", "X")
    (folder / "models.yaml").write_text(ONNX_MANIFEST)
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    # The graph was written just now: no racy window here, or no findings would be kept
    # (test_a_graph_rewritten_in_the_tick_it_was_read_in_is_read_again covers the window).
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    runs: list = []
    plain = registry.run_all
    monkeypatch.setattr(registry, "run_all", lambda config, ctx: runs.append(config.name) or plain(config, ctx))
    return folder / "models.yaml", runs


def _graph(path: Path, input_name: str) -> Path:
    from onnx import TensorProto

    from tests.rules.test_onnx_model import graph_file

    return graph_file(path, [(input_name, TensorProto.FLOAT, [-1, 4])], [("Y", TensorProto.FLOAT, [-1, 4])])


def _fresh_checkout(path: Path, data=None) -> None:
    """What a new clone does to a file: a new inode, new mtime and ctime; the same bytes unless
    `data` is given."""
    data = path.read_bytes() if data is None else data
    path.unlink()
    path.write_bytes(data)


def test_a_fresh_checkout_replays_the_rules_findings_when_the_graphs_read_the_same(onnx_project, monkeypatch):
    """The ONNX rule learns from a version file only what its graph says (its inputs and outputs):
    a file with new stamps but the same graph keeps the cached findings, with the new stamps."""
    manifest, runs = onnx_project
    plain = _loaded(manifest, monkeypatch, fastpath=False)
    assert plain[0] == [] and runs == ["m"]
    assert _loaded(manifest, monkeypatch, fastpath=True) == plain and runs == ["m", "m"]  # cold
    _fresh_checkout(manifest.parent / "src" / "model.onnx")
    assert _loaded(manifest, monkeypatch, fastpath=True) == plain and runs == ["m", "m"]  # replayed
    assert _loaded(manifest, monkeypatch, fastpath=True) == plain and runs == ["m", "m"]  # the new stamps kept


@pytest.mark.parametrize("how", ["fresh checkout", "in place, size and mtime kept"])
def test_a_graph_that_changed_is_checked_again(onnx_project, monkeypatch, how):
    """A cached verdict never outlives a change of what the rule reads: the graph's input renamed,
    in a file with new stamps, or edited in place with its size and mtime put back (only its
    ctime shows it)."""
    manifest, runs = onnx_project
    source = manifest.parent / "src" / "model.onnx"
    assert _loaded(manifest, monkeypatch, fastpath=True)[0] == []
    renamed = _graph(manifest.parent / "other.onnx", "Z").read_bytes()
    assert len(renamed) == source.stat().st_size  # the same size: only the content tells
    if how == "fresh checkout":
        _fresh_checkout(source, renamed)
    else:
        before = source.stat()
        with open(source, "r+b") as handle:
            handle.write(renamed)
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert (source.stat().st_ino, source.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    problems = _loaded(manifest, monkeypatch, fastpath=True)[0]
    assert [p["rule"] for p in problems] == ["onnx-io"], problems
    assert "allowed inputs are: Z" in problems[0]["message"]
    assert runs == ["m", "m"]
    assert _loaded(manifest, monkeypatch, fastpath=False)[0] == problems


def test_a_graph_rewritten_in_the_tick_it_was_read_in_is_read_again(onnx_project, monkeypatch):
    """git's racy case: on a file system whose clock ticks coarsely (simulated: coarse_stamps), a
    graph rewritten in place with the same size, in the tick the rules read it in, keeps its stat
    key. The findings of a read that close to a write are not kept: the next run reads it again."""
    manifest, runs = onnx_project
    coarse_stamps(monkeypatch)
    source = manifest.parent / "src" / "model.onnx"
    _fresh_checkout(source)  # written within the simulated tick
    assert _loaded(manifest, monkeypatch, fastpath=True)[0] == [] and runs == ["m"]
    key = stat_key(os.stat(source))
    renamed = _graph(manifest.parent / "other.onnx", "Z").read_bytes()
    with open(source, "r+b") as handle:
        handle.write(renamed)  # the same size (the input's name is one letter either way)
    assert stat_key(os.stat(source)) == key  # what the simulation is for: the stat key cannot tell
    problems = _loaded(manifest, monkeypatch, fastpath=True)[0]
    assert [p["rule"] for p in problems] == ["onnx-io"], problems
    assert runs == ["m", "m"]

"""The build record: compile answers "up to date" from stat stamps only when nothing it reads
or writes changed; every change, including the ones a stat hides, leads to the full run."""
from __future__ import annotations

import json
import os
import time

import pytest

from compiler import pipeline
from compiler.artifacts.settings import Settings
from compiler.compile import build_record
from tests.helpers import run_cli, write


def _cache():
    """The cache folder a command run here uses (the environment's, as `Settings.for_run` reads it)."""
    return Settings.for_run().cache_root


MANIFEST = """\
version: 1
models:
  m:
    backend: python
    max_batch_size: 0
    input: [{name: X, data_type: FP32, dims: [2]}]
    output: [{name: Y, data_type: FP32, dims: [2], label_filename: labels.txt}]
    files: {labels.txt: labels.txt}
    versions: {1: {source: src/1}, 2: {source: src/2}}
"""


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "models.yaml", MANIFEST)
    write(tmp_path / "labels.txt", "a\nb\n")
    write(tmp_path / "src/1/model.py", "VALUE = 1\n")
    write(tmp_path / "src/2/model.py", "VALUE = 2\n")
    write(tmp_path / "src/2/sub/extra.txt", "x\n")
    _compile_after_a_pause(tmp_path)
    return tmp_path


def _compile_after_a_pause(folder):
    # Inputs written in the very moment the compile starts are not trusted to the record
    # (they might change unseen); in real life they are older, so let the clock move on.
    time.sleep(0.05)
    code, _, err = run_cli("compile", "models.yaml", "--out", "repo", cwd=folder)
    assert code == 0, err


@pytest.fixture
def full_runs(monkeypatch):
    """Counts the runs that loaded the manifest, i.e. did not answer from the record."""
    calls = []
    real = pipeline.load_and_build

    def counting(manifest_path, *args, **kwargs):
        calls.append(manifest_path)
        return real(manifest_path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "load_and_build", counting)
    return calls


def _dry_run(project):
    return run_cli("compile", "models.yaml", "--out", "repo", "--dry-run", "--exit-code", cwd=project)


def test_an_unchanged_project_is_answered_from_the_record(project, full_runs):
    assert build_record.record_path(project / "repo", _cache()).is_file()
    assert (project / "repo" / build_record.MARKER).read_bytes() == b""  # the output holds no record
    full_runs.clear()
    code, out, _ = _dry_run(project)
    assert code == 0 and out.rstrip().endswith("repo: up to date")
    assert "src/1" in out  # the sources block is repeated from the record
    inode = os.stat(project / "repo").st_ino
    code, out, _ = run_cli("compile", "models.yaml", "--out", "repo", cwd=project)
    assert code == 0 and "up to date" in out and "nothing written" in out
    assert os.stat(project / "repo").st_ino == inode
    assert full_runs == []


def test_json_output_from_the_record_has_the_same_shape(project):
    code, out, _ = run_cli("compile", "models.yaml", "--out", "repo", "--dry-run", "--output", "json", cwd=project)
    plan = json.loads(out)
    assert code == 0 and plan["pending"] is False and plan["changes"] == []
    assert {s["version"] for s in plan["sources"]} == {1, 2}


def _same_size_edit_keeping_mtime(path, new: bytes):
    before = os.stat(path)
    assert len(new) == before.st_size
    path.write_bytes(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # only ctime still tells


def _edit_keeping_mtime(path, new: bytes):
    """Any size: the size (and ctime) must tell."""
    before = os.stat(path)
    path.write_bytes(new)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replace_keeping_size_and_mtime(path, new: bytes):
    """A new file renamed over the old one (a new inode), its size and mtime set to the old's."""
    before = os.stat(path)
    assert len(new) == before.st_size
    spare = path.with_name(path.name + ".new")
    spare.write_bytes(new)
    os.utime(spare, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(spare, path)


@pytest.mark.parametrize("change, expected", [
    (lambda p: _same_size_edit_keeping_mtime(p / "src/1/model.py", b"VALUE = 9\n"), "update m/1/model.py"),
    (lambda p: _edit_keeping_mtime(p / "src/1/model.py", b"VALUE = 10\n"), "update m/1/model.py"),
    (lambda p: _replace_keeping_size_and_mtime(p / "src/1/model.py", b"VALUE = 5\n"), "update m/1/model.py"),
    (lambda p: write(p / "src/1/new.py", "n"), "create m/1/new.py"),
    (lambda p: _edit_keeping_mtime(p / "repo/m/1/model.py", b"VALUE = 100\n"), "update m/1/model.py"),
    (lambda p: _replace_keeping_size_and_mtime(p / "repo/m/2/model.py", b"VALUE = 6\n"), "update m/2/model.py"),
    (lambda p: write(p / "repo/m/2/extra.py", "x"), "delete m/2/extra.py"),
    (lambda p: (p / "repo/m/2/sub/extra.txt").unlink(), "create m/2/sub/extra.txt"),
    (lambda p: write(p / "src/2/sub/new.txt", "n"), "create m/2/sub/new.txt"),
    (lambda p: (p / "src/2/sub/extra.txt").unlink(), "delete m/2/sub/extra.txt"),
    (lambda p: write(p / "labels.txt", "a\nc\n"), "update m/labels.txt"),
    (lambda p: write(p / "models.yaml", MANIFEST.replace("dims: [2]}]\n    output", "dims: [3]}]\n    output")),
     "update m/config.pbtxt"),
    (lambda p: _same_size_edit_keeping_mtime(p / "repo/m/1/model.py", b"VALUE = 7\n"), "update m/1/model.py"),
    (lambda p: write(p / "repo/m/1/__pycache__/model.cpython-311.pyc", "x"), "delete m/1/__pycache__"),
    (lambda p: (p / "repo/m/labels.txt").unlink(), "create m/labels.txt"),
    (lambda p: write(p / "repo/stray.txt", "x"), "delete stray.txt"),
])
def test_every_change_leads_to_the_full_run(project, full_runs, change, expected):
    change(project)
    full_runs.clear()
    code, out, _ = _dry_run(project)
    assert full_runs, "answered from the record"
    assert code == 2 and expected in out


def test_the_stamps_of_missing_paths_links_and_huge_inodes(tmp_path):
    write(tmp_path / "a.txt", "a")
    os.symlink("a.txt", tmp_path / "link")
    os.symlink("nowhere", tmp_path / "broken")
    found, links = build_record.survey(["a.txt", "link", "gone", "broken"], f"{tmp_path}/")
    assert links == [1, 3]
    assert found[8:12] == [-1, -1, -1, -1]  # "gone"
    assert found[16:20] == build_record.fingerprint(tmp_path / "a.txt")  # the link's target
    assert found[20:] == [-1, -1, -1, -1]  # the broken link's target
    # An inode number above 2**63 (some network file systems) still has a digest of its own.
    assert build_record.digest([1, 2, 3, 2**64 - 1]) != build_record.digest([1, 2, 3, -1])
    assert build_record.digest([1, 2, 3, 2**64 - 1]) == build_record.digest([1, 2, 3, 2**64 - 1])


def test_a_new_lock_file_leads_to_the_full_run(project, full_runs):
    write(project / "models.lock", "{}")
    full_runs.clear()
    _dry_run(project)
    assert full_runs


def test_a_retargeted_symlink_source_is_seen(tmp_path, full_runs):
    write(tmp_path / "models.yaml", MANIFEST.replace("src/2", "link"))
    write(tmp_path / "labels.txt", "a\nb\n")
    write(tmp_path / "src/1/model.py", "VALUE = 1\n")
    write(tmp_path / "a/model.py", "VALUE = 2\n")
    write(tmp_path / "b/model.py", "VALUE = 3\n")
    os.symlink("a", tmp_path / "link")
    _compile_after_a_pause(tmp_path)
    (tmp_path / "link").unlink()
    os.symlink("b", tmp_path / "link")
    full_runs.clear()
    code, out, _ = run_cli("compile", "models.yaml", "--out", "repo", "--dry-run", "--exit-code", cwd=tmp_path)
    assert full_runs and code == 2 and "update m/2/model.py" in out


def test_inputs_changed_after_the_compile_started_are_not_trusted(project):
    stored = build_record.load(project / "repo", _cache())
    key = stored["key"]
    assert build_record.inputs_unchanged(stored, key)
    stored["started"] = 0  # every input now looks changed at or after the start
    assert not build_record.inputs_unchanged(stored, key)
    assert not build_record.inputs_unchanged(dict(stored, key=dict(key, tool="another version")), key)


def _restamp(stored: dict, out) -> None:
    """Make the record vouch for the output's stamps as they are now (content aside)."""
    folders, files = stored["folders"], stored["files"]
    found, links = build_record.survey(folders + files, str(out) + "/")
    stored["output_digest"], stored["output_links"] = build_record.digest(found), links


def test_outputs_touched_in_the_records_own_tick_are_checked_by_content(project):
    out = project / "repo"
    stored = build_record.load(out, _cache())
    assert build_record.outputs_unchanged(stored, out)
    stored["finished"] = 0  # as if every output had been touched after the compile finished
    # An edit the stamps cannot show (same tick): pretend the record matched the new stamps.
    target = out / "m/1/model.py"
    target.write_bytes(b"VALUE = 8\n")
    _restamp(stored, out)
    assert not build_record.outputs_unchanged(stored, out)
    target.write_bytes(b"VALUE = 1\n")
    _restamp(stored, out)
    assert build_record.outputs_unchanged(stored, out)
    write(out / "m/1/extra.txt", "x")  # a name the compile did not write, in a folder of that tick
    _restamp(stored, out)
    assert not build_record.outputs_unchanged(stored, out)


def test_a_damaged_record_means_the_full_run(project, full_runs):
    build_record.record_path(project / "repo", _cache()).write_text("{not json")
    full_runs.clear()
    code, out, _ = _dry_run(project)
    assert full_runs and code == 0 and "up to date" in out


def test_no_record_when_there_are_warnings(tmp_path):
    """A warning must be repeated by every run, so such a run keeps no record."""
    write(tmp_path / "models.yaml", MANIFEST.replace(", 2: {source: src/2}", ""))
    write(tmp_path / "labels.txt", "a\nb\n")
    write(tmp_path / "src/1/model.py", "VALUE = 1\n")
    write(tmp_path / "src/2/model.py", "VALUE = 2\n")
    assert run_cli("lock", "models.yaml", cwd=tmp_path)[0] == 0
    write(tmp_path / "models.yaml", MANIFEST)  # version 2 is not in models.lock: a warning
    code, out, _ = run_cli("compile", "models.yaml", "--out", "repo", cwd=tmp_path)
    assert code == 0 and "not in models.lock" in out
    assert not build_record.record_path(tmp_path / "repo", _cache()).exists()
    code, out, _ = run_cli("compile", "models.yaml", "--out", "repo", "--dry-run", cwd=tmp_path)
    assert "not in models.lock" in out


def test_no_record_for_remote_sources(tmp_path):
    """A stat cannot see a remote file change: such a manifest always gets the full run."""
    from tests.artifacts.manifests import write_manifest
    from tests.artifacts.servers import FileServer

    (tmp_path / "www").mkdir()
    with FileServer(tmp_path / "www") as served:
        (served.root / "model.onnx").write_bytes(b"weights")
        manifest = write_manifest(tmp_path / "repo", {1: served.url("model.onnx")})
        time.sleep(0.05)
        assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
        assert not build_record.record_path(tmp_path / "out", _cache()).exists()


def test_a_local_target_that_now_leads_out_of_the_repository_is_seen(project, tmp_path_factory, full_runs):
    """The manifest's bytes are the same, but its local target now resolves elsewhere (a link on
    the way): the manifest no longer builds (manifest/local_target.py), whatever --out says."""
    manifest = project / "models.yaml"
    manifest.write_text(MANIFEST.replace("version: 1\n", "version: 1\ntargets:\n  local: {url: build/repo}\n", 1))
    _compile_after_a_pause(project)
    full_runs.clear()
    assert _dry_run(project)[0] == 0 and full_runs == []  # answered from the record
    (project / "build").symlink_to(tmp_path_factory.mktemp("elsewhere"))
    code, out, _ = _dry_run(project)
    assert full_runs and code == 1 and "[target-outside]" in out, out
    (project / "build").unlink()
    assert _dry_run(project)[0] == 0


def test_whether_the_policy_allows_a_local_targets_variable_is_seen(project, monkeypatch, full_runs):
    """The manifest builds only while the storage policy allows its local target's variable
    (manifest/local_target.py): a record made while it did must not answer once it does not."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_FOLDER")
    monkeypatch.setenv("MODELS_FOLDER", "team-a")
    manifest = project / "models.yaml"
    manifest.write_text(MANIFEST.replace("version: 1\n", 'version: 1\ntargets:\n  local: {url: "build/${MODELS_FOLDER}"}\n', 1))
    _compile_after_a_pause(project)
    full_runs.clear()
    assert _dry_run(project)[0] == 0 and full_runs == []  # answered from the record
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_*")
    code, out, err = _dry_run(project)
    assert full_runs and code == 1 and "${MODELS_FOLDER} is not allowed by the storage policy" in out, out + err
    assert "team-a" not in out + err
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_*")
    full_runs.clear()
    assert _dry_run(project)[0] == 0 and full_runs == []  # the record answers again


def test_the_same_manifest_bytes_elsewhere_are_not_up_to_date(project, tmp_path_factory, full_runs):
    """Another checkout compiling into the same folder names other source files."""
    other = tmp_path_factory.mktemp("other")
    write(other / "models.yaml", MANIFEST)
    write(other / "labels.txt", "a\nb\n")
    write(other / "src/1/model.py", "VALUE = 5\n")
    write(other / "src/2/model.py", "VALUE = 2\n")
    write(other / "src/2/sub/extra.txt", "x\n")
    full_runs.clear()
    code, out, _ = run_cli("compile", "models.yaml", "--out", project / "repo", "--dry-run", "--exit-code", cwd=other)
    assert full_runs and code == 2 and "update m/1/model.py" in out


def test_cache_prune_all_removes_the_records(project):
    assert build_record.record_path(project / "repo", _cache()).is_file()
    assert run_cli("cache", "prune", "--all", cwd=project)[0] == 0
    assert not build_record.record_path(project / "repo", _cache()).exists()


def test_a_record_in_use_survives_cache_prune(project):
    path = build_record.record_path(project / "repo", _cache())
    month_ago = time.time() - 40 * 86400
    os.utime(path, (month_ago, month_ago))
    code, out, _ = _dry_run(project)
    assert code == 0 and "up to date" in out
    assert path.stat().st_mtime > month_ago + 39 * 86400  # used now
    assert run_cli("cache", "prune", cwd=project)[0] == 0  # drops what was unused for 30 days
    assert path.is_file()


@pytest.fixture
def policy_reads(monkeypatch):
    """Counts the loads of the storage policy (a `git show` each, with a git:REF:PATH policy)."""
    from compiler.storage import policy

    calls = []
    real = policy.load
    monkeypatch.setattr(policy, "load", lambda *args: calls.append(args) or real(*args))
    return calls


def test_an_up_to_date_answer_with_a_git_policy_runs_no_git_show(project, monkeypatch, policy_reads, full_runs):
    """A manifest with local targets only: the storage policy cannot change compile's answer,
    so the record answers without reading it."""
    import subprocess

    from compiler.storage import policy

    write(project / "policy.yaml", "allowed_endpoints: [127.0.0.1:9000]\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "policy.yaml"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "policy"], cwd=project, check=True)
    monkeypatch.setenv("TRITON_GITOPS_POLICY", "git:HEAD:policy.yaml")
    shown = []
    real_read = policy._read_file
    monkeypatch.setattr(policy, "_read_file", lambda spec: shown.append(spec) or real_read(spec))
    _compile_after_a_pause(project)  # a git work tree now: the full run, with the policy
    assert shown == ["git:HEAD:policy.yaml"]
    shown.clear(), policy_reads.clear(), full_runs.clear()
    code, out, _ = _dry_run(project)
    assert code == 0 and out.rstrip().endswith("repo: up to date")
    assert full_runs == [] and policy_reads == [] and shown == []


REMOTE_TARGET = """targets:
  prod:
    url: s3://models/prod
    storage_options: {client_kwargs: {endpoint_url: "${S3_ENDPOINT}"}}
"""


def test_with_a_remote_target_the_record_holds_the_policy_it_was_checked_against(tmp_path, monkeypatch,
                                                                                  policy_reads, full_runs):
    """The policy, and the values of the variables it lets the target use, decide whether the
    target passes: any change to them leads to the full run, which says what is wrong now."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", "127.0.0.1:9000")
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "S3_ENDPOINT")
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9000")
    write(tmp_path / "models.yaml", REMOTE_TARGET + MANIFEST)
    write(tmp_path / "labels.txt", "a\nb\n")
    write(tmp_path / "src/1/model.py", "VALUE = 1\n")
    write(tmp_path / "src/2/model.py", "VALUE = 2\n")
    _compile_after_a_pause(tmp_path)
    assert build_record.record_path(tmp_path / "repo", _cache()).is_file()
    policy_reads.clear(), full_runs.clear()
    code, out, _ = _dry_run(tmp_path)
    assert code == 0 and out.rstrip().endswith("repo: up to date")
    assert full_runs == [] and len(policy_reads) == 1  # the record's answer depends on it: read once

    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9001")  # a value the policy does not allow
    code, out, _ = _dry_run(tmp_path)
    assert full_runs and code == 1 and "127.0.0.1:9001, which the storage policy" in out
    monkeypatch.setenv("S3_ENDPOINT", "http://127.0.0.1:9000")
    assert _dry_run(tmp_path)[0] == 0
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", "127.0.0.1:9002")  # the policy changed
    full_runs.clear()
    code, out, _ = _dry_run(tmp_path)
    assert full_runs and code == 1 and "127.0.0.1:9000, which the storage policy" in out


def test_the_record_and_the_kept_answers_are_stamped_with_one_tool_digest(project, monkeypatch, tmp_path):
    """compile's record and the fast path's files (compiler/fastpath/cache_file.py) name the tool
    by the same digest, taken once a process: one walk of the package, one look for onnx."""
    import importlib.util

    from compiler.compile import tool_stamp
    from compiler.fastpath import cache_file

    monkeypatch.setattr(tool_stamp, "_FINGERPRINT", [])  # as in a new process
    walks, looks = [], []
    walk, find_spec = os.walk, importlib.util.find_spec
    monkeypatch.setattr(os, "walk", lambda *args, **kw: walks.append(args) or walk(*args, **kw))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: looks.append(name) or find_spec(name, *rest))
    key = build_record.current_key(tmp_path / "out", project / "models.yaml", "models.yaml", "auto")
    cache_file.write(tmp_path / "kept", b"KEPT\n", ["an answer"])
    assert cache_file.read(tmp_path / "kept", b"KEPT\n") == ["an answer"]
    assert (tmp_path / "kept").read_bytes().startswith(b"KEPT\n" + key["tool"].encode() + b"\n")
    assert len(walks) == 1 and looks.count("onnx") == 1

"""What only a local target shows: Triton's __pycache__, the hash cache, git revision, output."""
from __future__ import annotations

import json
import subprocess

import pytest

import compiler.artifacts.file_digest as artifact_files
import compiler.sync.hashing as hashing
from compiler import gitinfo
from compiler.artifacts.cache import Cache
from compiler.storage import files as storage_files
from compiler.sync.state import STATE_NAME, State
from tests.sync.conftest import Backend, Project, _fs


@pytest.fixture
def local(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "src" / "target" / "repo"
    backend = Backend("local", _fs("file"), str(root), {"url": str(root)}, {})
    (tmp_path / "src").mkdir()
    return Project(tmp_path / "src", backend), root


def test_triton_pycache_is_neither_drift_nor_kept_in_a_removed_version(local):
    project, root = local
    assert project.cli("sync")[0] == 0
    for version in (1, 2):
        cache = root / "text_classifier" / str(version) / "__pycache__"
        cache.mkdir()
        (cache / "model.cpython-311.pyc").write_bytes(b"\0" * 100)
    code, plan, _ = project.json("plan")
    assert code == 0 and plan["unmanaged"] == []

    del project.models["text_classifier"]["versions"][1]
    project.save()
    code, result, _ = project.json("sync", "--prune")
    assert code == 0 and result["deleted"] == 1
    assert not (root / "text_classifier" / "1").exists()  # the whole folder, Triton's cache with it
    assert (root / "text_classifier" / "2" / "__pycache__" / "model.cpython-311.pyc").exists()


def test_a_removed_model_with_a_foreign_file_keeps_that_file_only(local):
    project, root = local
    assert project.cli("sync")[0] == 0
    (root / "preprocess" / "NOTES.md").write_text("mine")
    del project.models["classify_text"]
    del project.models["preprocess"]
    project.save()
    code, result, err = project.json("sync", "--prune")
    assert code == 0, err
    assert not (root / "classify_text").exists()
    assert sorted(p.name for p in (root / "preprocess").rglob("*") if p.is_file()) == ["NOTES.md"]


def test_a_no_op_run_reads_no_source_file(local, monkeypatch):
    project, _ = local
    # The project was copied just now: no racy window here, or its files' digests would serve
    # the first run only (tests/artifacts/test_local.py covers the window).
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    assert project.cli("sync")[0] == 0
    reads = []
    real = artifact_files.sha256_file
    monkeypatch.setattr(artifact_files, "sha256_file", lambda path: reads.append(str(path)) or real(path))
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0
    assert reads == []
    (project.folder / "examples" / "text_classifier" / "labels.txt").touch()  # same bytes, new stat
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0
    assert [p.rsplit("/", 1)[-1] for p in reads] == ["labels.txt"]


def test_the_state_records_the_manifest_revision_looked_up_once(local, monkeypatch):
    project, root = local
    looked_up = []
    real = gitinfo.revision
    monkeypatch.setattr(gitinfo, "revision", lambda folder: looked_up.append(folder) or real(folder))
    git = ["git", "-C", str(project.folder), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "models"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert project.cli("sync")[0] == 0
    state = json.loads((root / STATE_NAME).read_text())
    assert state["revision"] == head and state["manifest"] == "models.yaml"
    assert looked_up == [project.folder]  # once per sync (engine.sync, handed to the writer)
    assert state["ensembles"] == ["classify_text"]  # so that, removed, it can still be taken away first
    record = state["files"]["text_classifier/labels.txt"]
    assert set(record) == {"size", "sha256", "md5", "stamp"}


def test_a_damaged_state_deletes_nothing_and_is_rebuilt(local):
    project, root = local
    assert project.cli("sync")[0] == 0
    (root / STATE_NAME).write_text("{not json")
    del project.models["classify_text"]
    project.save()
    code, out, _ = project.cli("plan", "--prune")
    assert code == 0 and "state on the target is unreadable" in out
    assert "classify_text/config.pbtxt" not in out.split("warning")[0]
    code, result, _ = project.json("sync", "--prune")
    assert code == 0 and result["sent_files"] == 0 and result["deleted"] == 0
    assert (root / "classify_text" / "config.pbtxt").exists()  # no longer known to be ours
    state = State.from_bytes((root / STATE_NAME).read_bytes())
    assert not state.damaged and "preprocess/config.pbtxt" in state.files


def test_text_output_lists_files_models_and_a_summary(local):
    project, root = local
    assert project.cli("sync")[0] == 0
    (root / "text_classifier" / "labels.txt").write_text("x" * 23)
    project.models["text_classifier"]["dynamic_batching"] = {"max_queue_delay_microseconds": 50}
    del project.models["text_classifier"]["versions"][1]
    project.save()
    code, out, _ = project.cli("plan")
    assert code == 2
    lines = out.splitlines()
    assert "- delete text_classifier/1/model.py (881 B): needs --prune" in lines
    assert "! repair text_classifier/labels.txt (23 B): changed on the target" in lines
    assert any(line.startswith("~ update text_classifier/config.pbtxt") for line in lines)
    assert "text_classifier: 1 to update, 1 to repair, 1 to delete (needs --prune)" in lines
    assert lines[-1].endswith("1 to update, 1 to repair, 1 to delete with --prune")

    code, out, err = project.cli("sync", "--dry-run")
    assert code == 2 and out.rstrip().endswith("dry run: nothing was changed")
    assert (root / "text_classifier" / "labels.txt").read_text() == "x" * 23
    code, out, err = project.cli("sync")
    assert code == 0
    # Not a terminal: each file once, in the plan on stdout, not again as progress on stderr.
    assert [line for line in (out + err).splitlines() if "text_classifier/labels.txt" in line] == [
        "! repair text_classifier/labels.txt (23 B): changed on the target"]
    assert sum("text_classifier/config.pbtxt" in line for line in (out + err).splitlines()) == 1
    assert out.splitlines()[-1].startswith("synced ")
    assert "1 updated, 1 repaired, 0 deleted; 2 files" in out and "1 deletion skipped (use --prune)" in out
    # With --output json stdout is the record, so the files are listed as they are done, on stderr.
    (root / "text_classifier" / "labels.txt").write_text("y" * 23)
    code, out, err = project.cli("sync", "--output", "json")
    assert code == 0 and "repaired text_classifier/labels.txt (23 B)\n" in err


def test_a_source_changed_after_hashing_is_not_sent_under_its_old_digest(tmp_path):
    from compiler.compile.tree import Entry, Tree
    from compiler.sync.storage_failures import VerifyError
    from compiler.sync.transfer import send

    source = tmp_path / "model.bin"
    for size in (1000, 40 << 20):  # one request, and streamed in parts
        source.write_bytes(b"a" * size)
        want = hashing.wanted_files(Tree([Entry("m/1/model.bin", "m", "version", size, source=source)]),
                                    Cache(tmp_path / "cache"))["m/1/model.bin"]
        source.write_bytes(b"b" * size)  # same size, new content
        with pytest.raises(VerifyError, match="changed while it was being sent"):
            send(_fs("file"), want, str(tmp_path / "out.bin"))

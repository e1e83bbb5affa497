"""The same sync scenarios against a local folder, S3 (moto), GCS and Azure (Azurite)."""
from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest

from compiler.sync.state import LOCK_NAME, STATE_NAME, TMP_PREFIX, Record, State
from tests.sync.conftest import echo_model

pytestmark = pytest.mark.emulators


def _state(backend) -> State:
    return State.from_bytes(backend.read(STATE_NAME))


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_first_sync_writes_the_repository_and_a_second_moves_nothing(project, backend):
    code, plan, _ = project.json("plan")
    assert code == 2 and not plan["in_sync"]
    assert {c["action"] for c in plan["changes"]} == {"create"}

    code, out, err = project.cli("sync")
    assert code == 0, err
    assert backend.files() == project.expected()
    state = _state(backend)
    assert set(state.files) == set(project.expected())
    assert not any(r.pending for r in state.files.values())
    assert not backend.exists(LOCK_NAME)

    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0 and result["in_sync"] and result["changes"] == []
    assert project.json("plan")[0] == 0


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_a_fresh_checkout_moves_nothing_and_a_same_size_edit_is_caught(project, backend):
    assert project.cli("sync")[0] == 0
    for path in (project.folder / "examples").rglob("*"):  # what a fresh clone does to every file
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0

    source = project.folder / "examples" / "text_classifier" / "2" / "model.py"
    before = source.stat()
    text = source.read_text()
    source.write_text(text.replace("TEMPERATURE = 1.0", "TEMPERATURE = 2.0"))  # same size
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))  # and same mtime
    assert source.stat().st_size == before.st_size

    code, plan, _ = project.json("plan")
    assert code == 2
    assert [(c["action"], c["path"]) for c in plan["changes"]] == [("update", "text_classifier/2/model.py")]
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 1
    assert backend.read("text_classifier/2/model.py") == source.read_bytes()


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_a_model_added_sends_only_its_files(project, backend):
    assert project.cli("sync")[0] == 0
    project.models["echo"] = echo_model()
    project.save()
    code, plan, _ = project.json("plan")
    assert code == 2 and plan["models"] == {"echo": {"status": "new", "create": 2}}
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 2
    assert backend.files() == project.expected()


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_a_removed_version_is_deleted_only_with_prune(project, backend):
    assert project.cli("sync")[0] == 0
    del project.models["text_classifier"]["versions"][1]
    project.save()

    code, out, _ = project.cli("sync")
    assert code == 0 and "1 deletion skipped (use --prune)" in out
    assert backend.exists("text_classifier/1/model.py")
    code, plan, _ = project.json("plan")
    assert code == 2
    assert [(c["action"], c["path"], c["skipped"]) for c in plan["changes"]] == [
        ("delete", "text_classifier/1/model.py", True)]

    code, result, _ = project.json("sync", "--prune")
    assert code == 0 and result["deleted"] == 1
    assert backend.files() == project.expected()
    assert "text_classifier/1/model.py" not in _state(backend).files
    assert project.json("plan")[0] == 0


def test_a_removed_model_is_pruned_whole(project, backend):
    assert project.cli("sync")[0] == 0
    del project.models["classify_text"]
    project.save()
    code, result, _ = project.json("sync", "--prune")
    assert code == 0 and result["deleted"] == 2
    assert result["models"] == {"classify_text": {"status": "removed", "delete": 2}}
    assert backend.files() == project.expected()
    if backend.name == "local":
        assert not os.path.exists(backend.path("classify_text"))


def test_prune_keeps_a_dropped_file_that_was_replaced_by_hand(project, backend):
    """Prune deletes only what still holds the bytes triton-gitops wrote; the rest is drift."""
    assert project.cli("sync")[0] == 0
    mine = backend.read("text_classifier/1/model.py").upper()  # same size, someone else's content
    backend.write("text_classifier/1/model.py", mine)
    del project.models["text_classifier"]["versions"][1]
    del project.models["classify_text"]  # a removed model: its untouched files still go
    project.save()

    code, plan, _ = project.json("plan", "--prune")
    assert code == 2
    drift = [c for c in plan["changes"] if c["drift"]]
    assert [(c["path"], c["skipped"]) for c in drift] == [("text_classifier/1/model.py", True)]
    assert "changed on the target since triton-gitops wrote it" in drift[0]["reason"]
    code, out, err = project.cli("sync", "--prune")
    assert code == 0, err
    assert "1 file the manifest dropped but changed by hand since triton-gitops wrote it, kept (drift)" in out
    files = backend.files()
    assert files["text_classifier/1/model.py"] == mine
    assert not any(p.startswith("classify_text/") for p in files)
    assert "text_classifier/1/model.py" in _state(backend).files  # still reported on every run
    code, result, _ = project.json("sync", "--prune")
    assert code == 0 and result["deleted"] == 0 and result["drift"] == ["text_classifier/1/model.py"]
    assert backend.read("text_classifier/1/model.py") == mine


def test_prune_reads_a_pending_file_to_tell_ours_from_a_hand_replaced_one(project, backend):
    """An interrupted sync leaves its files `pending` (no md5, no stamp): dropped by the manifest,
    one still holding what the sync sent is pruned; one replaced by hand since is kept (drift)."""
    assert project.cli("sync")[0] == 0
    state = _state(backend)
    for path in ("text_classifier/1/model.py", "preprocess/config.pbtxt"):
        record = state.files[path]
        state.files[path] = Record(record.size, record.sha256, pending=True)
    backend.write(STATE_NAME, state.to_bytes())
    theirs = backend.read("preprocess/config.pbtxt").replace(b"preprocess", b"PREPROCESS")
    backend.write("preprocess/config.pbtxt", theirs)
    del project.models["text_classifier"]["versions"][1]
    del project.models["classify_text"]
    del project.models["preprocess"]
    project.save()
    code, result, err = project.json("sync", "--prune")
    assert code == 0, err
    files = backend.files()
    assert "text_classifier/1/model.py" not in files
    assert files["preprocess/config.pbtxt"] == theirs and result["drift"] == ["preprocess/config.pbtxt"]


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_hand_made_drift_is_shown_and_repaired(project, backend):
    assert project.cli("sync")[0] == 0
    original = backend.read("text_classifier/labels.txt")
    backend.write("text_classifier/labels.txt", original.upper())  # same size, other content
    backend.delete("preprocess/config.pbtxt")

    code, plan, _ = project.json("plan")
    assert code == 2
    assert sorted((c["action"], c["path"], c["reason"]) for c in plan["changes"]) == [
        ("repair", "preprocess/config.pbtxt", "deleted on the target"),
        ("repair", "text_classifier/labels.txt", "changed on the target")]
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 2
    assert backend.files() == project.expected()
    assert project.json("plan")[0] == 0


def test_files_the_tool_did_not_write_are_left_alone(project, backend):
    assert project.cli("sync")[0] == 0
    backend.write("README.txt", b"hand-written\n")
    backend.write("text_classifier/1/notes.txt", b"mine\n")
    del project.models["text_classifier"]["versions"][1]
    project.save()
    code, result, _ = project.json("sync", "--prune")
    assert code == 0
    assert sorted(result["unmanaged"]) == ["README.txt", "text_classifier/1/notes.txt"]
    files = backend.files()
    assert files["README.txt"] == b"hand-written\n" and files["text_classifier/1/notes.txt"] == b"mine\n"
    assert "text_classifier/1/model.py" not in files  # ours, pruned; the folder stays for notes.txt
    assert project.json("plan")[0] == 0


@pytest.mark.usefixtures("both_ways")  # the key scenarios, with and without compiler/fastpath
def test_an_interrupted_sync_is_run_again_and_converges(project, backend, tmp_path):
    big = project.folder / "examples" / "big"
    big.mkdir()
    for i in range(4):  # bigger than a transfer block: streamed in parts
        (big / f"weights{i}.bin").write_bytes(os.urandom(20 << 20))
    project.models["text_classifier"]["files"].update(
        {f"weights{i}.bin": f"examples/big/weights{i}.bin" for i in range(4)})
    project.save()

    victim = project.subprocess("--jobs", "1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and victim.poll() is None:
        # The state lists the files about to be sent just before the first is sent: kill -9 then.
        if backend.exists(STATE_NAME) and any(r.pending for r in _state(backend).files.values()):
            break
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, victim.communicate()
    assert backend.exists(LOCK_NAME)  # left behind by the dead process
    assert backend.files() != project.expected()

    code, out, err = project.cli("sync")  # takes over the dead process's lock by itself
    assert code == 0, err
    assert backend.files() == project.expected()
    assert not any(TMP_PREFIX in path for path in backend.files(everything=True))
    if backend.name == "local":
        assert not [p for p in os.listdir(os.path.dirname(backend.root)) if TMP_PREFIX in p]
    assert not any(r.pending for r in _state(backend).files.values())
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0


def _foreign_lock(expires_in: float) -> bytes:
    now = time.time()
    return json.dumps({"format": 1, "id": "other", "command": "sync",
                       "owner": {"user": "ci", "host": "runner-7.example", "pid": 4242, "boot_id": "x"},
                       "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30)),
                       "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
                       "expires_epoch": int(now + expires_in)}).encode()


def test_a_second_sync_waits_then_names_the_holder(project, backend):
    backend.write(LOCK_NAME, _foreign_lock(600))
    started = time.monotonic()
    code, out, err = project.cli("sync", "--lock-wait", "1")
    assert code == 1
    assert 1 <= time.monotonic() - started < 15
    assert "locked by another sync: ci@runner-7.example (pid 4242)" in err
    assert "--force-unlock" in err
    assert not backend.exists("preprocess/config.pbtxt")

    code, out, err = project.cli("sync", "--force-unlock")
    assert code == 0, err
    assert "removing the lock held by ci@runner-7.example" in err
    assert backend.files() == project.expected() and not backend.exists(LOCK_NAME)


def test_an_expired_lock_is_taken_over(project, backend):
    backend.write(LOCK_NAME, _foreign_lock(-5))
    code, out, err = project.cli("sync", "--lock-wait", "0")
    assert code == 0, err
    assert "taking over a stale lock (expired)" in err
    assert backend.files() == project.expected() and not backend.exists(LOCK_NAME)


def test_a_lock_is_held_while_another_sync_runs(project, backend):
    # A real second process holds the lock: the in-process sync must wait, then fail.
    big = project.folder / "examples" / "big"
    big.mkdir()
    (big / "w.bin").write_bytes(os.urandom(1 << 20))
    project.models["text_classifier"]["files"]["w.bin"] = "examples/big/w.bin"
    project.save()
    backend.write(LOCK_NAME, json.dumps({
        "format": 1, "id": "live", "owner": {"user": "me", "host": socket.gethostname(), "pid": os.getpid(),
                                             "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip()},
        "created": "now", "expires": "later", "expires_epoch": int(time.time() + 600)}).encode())
    code, _, err = project.cli("sync", "--lock-wait", "0.2")
    assert code == 1 and f"(pid {os.getpid()})" in err  # alive on this host: not stale

"""The prefetch helper (prefetch.py: a child forked at start-up reads the target while the
manifest loads) sees what the sync would see itself, and when it cannot, the sync reads the
target itself and explains what went wrong exactly as without it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from compiler.sync import expect
from tests.helpers import REPO

pytestmark = pytest.mark.emulators

# Run in a fresh interpreter: the test process has threads (the emulators' fsspec loop), and
# the helper is only forked from a single-threaded process.
_OBSERVE = """
import json, sys
from pathlib import Path
from compiler.artifacts.settings import Settings
from compiler.pipeline import load
from compiler.fastpath import prefetch
from compiler.sync.listing import list_target
from compiler.sync.state import STATE_NAME, read_control
from compiler.sync.target import resolve_target

early = prefetch.start(sys.argv[2])
settings = Settings.for_run()
target = resolve_target(load(Path(sys.argv[1]), settings).manifest, sys.argv[2], settings.policy)
early.send(target)
seen = early.result()
here = read_control(target, STATE_NAME), list_target(target)
print(json.dumps({"helper": seen is not None, "same": seen == here, "files": len(here[1].files)}))
"""


def _python(project, *args, prefetch=True):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRITON_GITOPS_PREFETCH": "1" if prefetch else "0"}
    return subprocess.run([sys.executable, *args], env=env, cwd=project.folder, capture_output=True, text=True,
                          timeout=120)


def _cli_json(project, *args, prefetch=True):
    done = _python(project, "-m", "compiler", *args, str(project.manifest), "--target", "t", "--output", "json",
                   prefetch=prefetch)
    return done.returncode, json.loads(done.stdout), done.stderr


def test_the_helper_reads_the_same_state_and_listing(project, backend):
    if backend.name == "local":
        pytest.skip("a local target is listed in-process: no helper")
    assert project.cli("sync")[0] == 0
    backend.write("text_classifier/labels.txt", b"edited by hand")
    backend.write("stray/notes.txt", b"not ours")
    done = _python(project, "-c", _OBSERVE, str(project.manifest), "t")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["helper"] and seen["same"] and seen["files"] == len(project.expected()) + 1


def test_plans_agree_with_and_without_the_helper(project, backend):
    assert project.cli("sync")[0] == 0
    backend.write("text_classifier/labels.txt", b"edited by hand")  # drift: repaired
    backend.delete("preprocess/config.pbtxt")  # deleted by hand: repaired
    del project.models["classify_text"]  # to delete (skipped without --prune)
    project.save()
    code, with_helper, err = _cli_json(project, "plan")
    assert code == 2, err
    assert _cli_json(project, "plan", prefetch=False)[1] == with_helper
    assert {(c["action"], c["path"]) for c in with_helper["changes"] if c["action"] == "repair"} == {
        ("repair", "text_classifier/labels.txt"), ("repair", "preprocess/config.pbtxt")}
    code, result, err = _cli_json(project, "sync", "--prune")
    assert code == 0 and result["sent_files"] == 2, err
    code, result, err = _cli_json(project, "sync")
    assert code == 0 and result["sent_files"] == 0 and result["in_sync"], err


def test_a_no_op_run_never_imports_the_storage_sdk(project, backend, s3_emulator):
    if backend.name != "s3":
        pytest.skip("one SDK is enough to show it")
    assert project.cli("sync")[0] == 0
    script = ("import sys; from compiler.cli import main; code = main(sys.argv[1:]); "
              "print(code, 's3fs' in sys.modules, 'botocore' in sys.modules)")
    done = _python(project, "-c", script, "sync", str(project.manifest), "--target", "t")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 False False"


_AUDIT = """
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
def imports(event, args):  # inherited by the helper forked below: both processes write here
    if event == "import" and args[0].split(".")[0] in ("s3fs", "aiobotocore", "botocore", "aiohttp", "http"):
        os.write(log, f"{os.getpid()} {args[0]}\\n".encode())
sys.addaudithook(imports)
from compiler.cli import main
code = main(sys.argv[2:])
print(code, os.getpid())
"""


def test_a_no_op_run_imports_the_storage_sdk_in_neither_process(project, backend, tmp_path):
    """With static credentials the helper reads the state and lists the target over the standard
    library (compiler/fastpath/s3_raw.py): a run with nothing to write imports s3fs, aiobotocore,
    aiohttp and botocore nowhere."""
    if backend.name != "s3":
        pytest.skip("the plain reader is for S3")
    assert project.cli("sync")[0] == 0
    log = tmp_path / "imports.log"
    done = _python(project, "-c", _AUDIT, str(log), "sync", str(project.manifest), "--target", "t")
    assert done.returncode == 0, done.stderr
    code, parent = done.stdout.split()[-2:]
    imported = [line.split() for line in log.read_text().splitlines()]
    assert code == "0"
    assert any(pid != parent and module == "http.client" for pid, module in imported), "the helper read the target"
    assert [module for _, module in imported if not module.startswith("http")] == []


def test_a_missing_bucket_is_explained_the_same_with_the_helper(tmp_path, s3_emulator):
    from tests.sync.test_storage_failures import _manifest

    manifest = _manifest(tmp_path, {"prod": {"url": "s3://no-such-bucket-7/models",
                                             "storage_options": s3_emulator.storage_options()}})
    project = SimpleNamespace(folder=tmp_path)
    outputs = []
    for prefetch in (True, False):
        done = _python(project, "-m", "compiler", "sync", str(manifest), "--target", "prod", prefetch=prefetch)
        assert done.returncode == 1
        outputs.append(done.stderr)
    assert outputs[0] == outputs[1]
    assert "the bucket or container does not exist" in outputs[0] and "Traceback" not in outputs[0]


def test_the_work_ahead_guess_follows_the_wanted_files(tmp_path):
    cache = tmp_path / "cache"
    target = SimpleNamespace(url="s3://bucket/models?sig=secret", endpoint="")
    wants = {"m/config.pbtxt": SimpleNamespace(sha256="a" * 64), "m/1/model.onnx": SimpleNamespace(sha256="b" * 64)}
    assert not expect.likely_done(target, wants, cache)  # never seen: work ahead
    expect.remember_done(target, wants, cache)
    assert expect.likely_done(target, wants, cache)
    assert "secret" not in (tmp_path / "cache" / "index" / "sync-targets.json").read_text()
    edited = {**wants, "m/1/model.onnx": SimpleNamespace(sha256="c" * 64)}
    assert not expect.likely_done(target, edited, cache)
    assert not expect.likely_done(SimpleNamespace(url="s3://other/models", endpoint=""), wants, cache)


def test_the_early_guess_sees_an_edit_but_not_a_no_op_or_a_fresh_checkout(tmp_path):
    """Before the manifest is loaded, the stat keys of the last done run's sources tell an edit
    (some changed: the helper imports the SDK at once) from a no-op (none) and a fresh checkout
    (all: new inodes, most likely the same bytes)."""
    from compiler.artifacts.file_digest import stat_key

    cache, target = tmp_path / "cache", SimpleNamespace(url="s3://bucket/models", endpoint="")
    sources = [tmp_path / f"m{i}.onnx" for i in range(3)]
    for source in sources:
        source.write_bytes(b"weights")
    wants = {f"m{i}/1/model.onnx": SimpleNamespace(sha256="a" * 64, entry=SimpleNamespace(source=source),
                                                   key=stat_key(os.stat(source))) for i, source in enumerate(sources)}
    assert not expect.few_sources_changed(target, cache)  # never done: no guess
    expect.remember_done(target, wants, cache)
    assert not expect.few_sources_changed(target, cache)  # a no-op
    sources[1].write_bytes(b"weighs")  # a same-size edit keeps the inode; ctime moves
    assert expect.few_sources_changed(target, cache)
    # A run that knows no stat keys (plan's replayed local half) leaves the remembered sources be.
    keyless = {path: SimpleNamespace(sha256=want.sha256, entry=want.entry, key=None) for path, want in wants.items()}
    expect.remember_done(target, keyless, cache)
    assert expect.few_sources_changed(target, cache)
    for source in sources:  # a fresh checkout: every file new
        fresh = source.with_suffix(".new")
        fresh.write_bytes(source.read_bytes())
        fresh.replace(source)
    assert not expect.few_sources_changed(target, cache)
    assert not expect.few_sources_changed(SimpleNamespace(url="s3://other/models", endpoint=""), cache)


def test_a_sync_with_work_is_written_by_the_helper(project, backend):
    """The helper, whose SDK and client are ready, carries out the plan (handover.py): the main
    process never imports the SDK, shows the plan and the outcome as usual, and the target ends
    exactly as when the main process writes (TRITON_GITOPS_PREFETCH=0)."""
    if backend.name != "s3":
        pytest.skip("one SDK is enough to show it")
    script = ("import sys; from compiler.cli import main; code = main(sys.argv[1:]); "
              "print(code, 's3fs' in sys.modules, 'botocore' in sys.modules)")
    from compiler.sync.state import STATE_NAME, State

    source = project.folder / "examples" / "text_classifier" / "3" / "model.py"
    git = ["git", "-C", str(project.folder), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    for prefetch, imported in ((True, "False"), (False, "True")):
        source.write_text(source.read_text() + f"# edit {prefetch}\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "edit"], check=True)
        head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
        done = _python(project, "-c", script, "sync", str(project.manifest), "--target", "t", prefetch=prefetch)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == f"0 {imported} {imported}"
        assert "text_classifier/3/model.py" in done.stdout  # the plan, shown before it is carried out
        assert backend.files() == project.expected()
        # the revision, looked up by the main process while the helper wrote, is in the state
        assert State.from_bytes(backend.read(STATE_NAME)).revision == head
    assert project.cli("sync", "--dry-run")[0] == 0  # in sync: no file differs, no lock left


_ORPHAN = """
import os, signal, sys, time
pid = os.fork()
if pid == 0:
    from compiler.fastpath.prefetch import _die_with_parent
    _die_with_parent()
    time.sleep(60)  # a helper busy writing: not reading the pipe that would tell it the parent is gone
    os._exit(0)
print(pid, flush=True)
time.sleep(0.3)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_helper_dies_with_the_main_process(tmp_path):
    """A sync killed outright (kill -9, a cancelled CI job) takes its helper with it, so nothing
    writes to the target after the sync died (tests/hardening/test_sync_faults.py kills syncs
    at every write and checks what is left)."""
    import time

    done = _python(SimpleNamespace(folder=tmp_path), "-c", _ORPHAN)
    assert done.returncode == -9
    child = int(done.stdout.split()[0])
    for _ in range(50):
        try:
            with open(f"/proc/{child}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return  # gone and reaped
        if state in ("Z", "X"):
            return  # dead, not yet reaped by whoever adopted it
        time.sleep(0.1)
    raise AssertionError(f"the helper {child} outlived its parent by 5 s")


_CLOSE = """
import os, sys, time
from compiler.fastpath import prefetch

to_r, to_w = os.pipe()
from_r, from_w = os.pipe()
pid = os.fork()
if pid == 0:  # a helper still busy when the run ends (after its answer it imports the writing code)
    time.sleep(float(sys.argv[1]))
    os._exit(0)
os.close(to_r)
os.close(from_w)
helper = prefetch.Prefetch(pid, to_w, from_r)
helper._handed_over = sys.argv[2] == "plan"  # as `write` marks it when it sends the plan
started = time.monotonic()
helper.close()
print(time.monotonic() - started)
"""


@pytest.mark.parametrize("given", ["no plan", "plan"])
def test_a_helper_given_no_plan_is_stopped_at_the_end_one_writing_is_waited_for(tmp_path, given):
    """A run that found nothing to write does not wait for its helper (it can have written
    nothing); one that handed its helper a plan waits for it to finish, as always."""
    busy = "30" if given == "no plan" else "1"
    done = _python(SimpleNamespace(folder=tmp_path), "-c", _CLOSE, busy, given)
    assert done.returncode == 0, done.stderr
    waited = float(done.stdout)
    if given == "no plan":
        assert waited < 5, waited
    else:
        assert waited >= 0.9, waited

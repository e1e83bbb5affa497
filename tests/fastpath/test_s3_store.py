"""The prefetch helper's write without the SDK (compiler/fastpath/s3_store.py): the same objects,
state and requests as the SDK's write, in the order a polling Triton needs; the lock kept; a
hostile endpoint gets an explained failure, never a redirect followed or a secret."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from compiler.errors import FatalError
from compiler.fastpath import s3_http, s3_store
from compiler.fastpath.s3_route import route
from compiler.storage.stores import StorageTimeout
from compiler.sync.state import LOCK_NAME, STATE_NAME, State
from compiler.sync.storage_failures import DENIED, OTHER, TRANSIENT, classify, explain
from compiler.sync.target import Target
from compiler.sync.target_lock import TargetLock
from tests.helpers import REPO
from tests.storage.servers import Recorder

SDK = ("s3fs", "aiobotocore", "botocore", "aiohttp")
_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|PUT|POST|HEAD|DELETE) (/[^ ?]*)(\?[^ ]*)? HTTP')

# Every module either process imports, written down by an audit hook the helper inherits.
_AUDIT = """
import os, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
def imports(event, args):
    if event == "import" and args[0].split(".")[0] in ("s3fs", "aiobotocore", "botocore", "aiohttp", "http"):
        os.write(log, f"{os.getpid()} {args[0]}\\n".encode())
sys.addaudithook(imports)
from compiler.cli import main
code = main(sys.argv[2:])
print(code, os.getpid())
"""


def _sync(project, log, *args, env=None):
    """(exit code, stdout, stderr, [(pid, module)] of the audited imports, the main process's pid)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRITON_GITOPS_PREFETCH": "1", **(env or {})}
    done = subprocess.run([sys.executable, "-c", _AUDIT, str(log), "sync", str(project.manifest), "--target", "t",
                           *args], env=env, cwd=project.folder, capture_output=True, text=True, timeout=120)
    imported = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    tail = done.stdout.split()[-2:] if done.returncode == 0 and done.stdout.split() else ["-1", "?"]
    return int(tail[0]), done.stdout, done.stderr, imported, tail[-1]


def _no_sdk(imported) -> list:
    return [module for _, module in imported if module.split(".")[0] in SDK]


def _s3_only(backend):
    if backend.name != "s3":
        pytest.skip("the plain writer is for S3")


def test_a_one_file_edit_imports_the_sdk_in_neither_process(project, backend, tmp_path):
    """Read and written over http.client: the helper carries the edit out without s3fs,
    aiobotocore, aiohttp or botocore, and the target ends as the manifest says."""
    _s3_only(backend)
    log = tmp_path / "imports.log"
    code, out, err, imported, _ = _sync(project, log)
    assert code == 0, err
    source = project.folder / "examples" / "text_classifier" / "3" / "model.py"
    source.write_text(source.read_text() + "# edited\n")
    code, out, err, imported, parent = _sync(project, log)
    assert code == 0, out + err
    assert "text_classifier/3/model.py" in out
    assert any(pid != parent and module == "http.client" for pid, module in imported), "the helper wrote"
    assert _no_sdk(imported) == []
    assert backend.files() == project.expected()
    state = State.from_bytes(backend.read(STATE_NAME))
    assert not any(record.pending for record in state.files.values())
    assert not backend.exists(LOCK_NAME)


def _moto_requests(emulator, offset: int, bucket: str) -> list:
    """[(method, path below the bucket's models/, query)] moto logged from `offset` on."""
    time.sleep(0.3)  # the access log catches up
    with open(emulator.log_path, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    prefix = f"/{bucket}/models/"
    return [(m.group(1), m.group(2)[len(prefix):] if m.group(2).startswith(prefix) else m.group(2), m.group(3) or "")
            for m in _REQUEST.finditer(text) if m.group(2) == f"/{bucket}" or m.group(2).startswith(f"/{bucket}/")]


def _state_without_times(raw: bytes) -> dict:
    data = json.loads(raw)
    for key in ("synced_at", "revision"):
        data.pop(key, None)
    return data


def test_the_plain_writer_leaves_what_the_sdk_leaves_request_for_request(project, backend, s3_emulator, tmp_path):
    """The same steps (a first sync, a one-file edit, a new model, a model removed with --prune)
    written by the helper without the SDK and, on a bucket of their own, by the main process
    through s3fs (TRITON_GITOPS_PREFETCH=0): the same objects, the same state, the same requests;
    version files before the configs naming them, the state after both."""
    _s3_only(backend)
    other = s3_emulator.make_bucket()
    log = tmp_path / "imports.log"
    source = project.folder / "examples" / "text_classifier" / "3" / "model.py"
    steps = []

    def edit():
        source.write_text(source.read_text() + "# edited\n")

    def new_model():
        project.models["preprocess_b"] = {**project.models["preprocess"],
                                          "versions": {1: {"source": "examples/preprocess/1"}}}
        project.save()

    def removed():
        del project.models["preprocess_b"]
        project.save()

    for name, change, args in (("first", None, ()), ("edit", edit, ()), ("new model", new_model, ()),
                               ("removed", removed, ("--prune",))):
        if change is not None:
            change()
        seen = {}
        for way, bucket, prefetch in (("plain", backend.env["TG_BUCKET"], "1"), ("sdk", other, "0")):
            offset = s3_emulator.log_path.stat().st_size
            code, out, err, imported, _ = _sync(project, log, *args,
                                                env={"TG_BUCKET": bucket, "TRITON_GITOPS_PREFETCH": prefetch})
            assert code == 0, f"{name}, {way}: {out}{err}"
            requests = _moto_requests(s3_emulator, offset, bucket)
            fs = backend.fs
            fs.invalidate_cache()
            files = {path[len(bucket) + len("/models/"):]: fs.cat_file(path) for path in fs.find(f"{bucket}/models")}
            # From the lock on: the reads before it are the reader's (tests/fastpath/test_s3_raw.py).
            first = requests.index(("PUT", LOCK_NAME, ""))
            seen[way] = (files, [(method, path) for method, path, _ in requests[first:]], imported)
        (plain_files, plain_requests, plain_imports), (sdk_files, sdk_requests, _) = seen["plain"], seen["sdk"]
        assert _no_sdk(plain_imports) == [], name
        assert {k: v for k, v in plain_files.items() if k != STATE_NAME} == \
            {k: v for k, v in sdk_files.items() if k != STATE_NAME} == project.expected(), name
        assert _state_without_times(plain_files[STATE_NAME]) == _state_without_times(sdk_files[STATE_NAME]), name
        assert sorted(plain_requests) == sorted(sdk_requests), f"{name}:\n{plain_requests}\n{sdk_requests}"
        writes = [(method, path) for method, path in plain_requests if method in ("PUT", "DELETE")]
        configs = [i for i, (method, path) in enumerate(writes) if method == "PUT" and path.endswith(".pbtxt")]
        files = [i for i, (method, path) in enumerate(writes)
                 if method == "PUT" and not path.endswith(".pbtxt") and not path.startswith(".triton-gitops")]
        if files and configs:
            assert max(files) < min(configs), f"{name}: a config before the files it names: {writes}"
        assert writes[-2:] == [("PUT", STATE_NAME), ("DELETE", LOCK_NAME)], f"{name}: {writes}"
        steps.append((name, len(plain_requests)))
    assert dict(steps)["edit"] == 7, steps  # and the two reads: docs/sync-internals.md, request by request


def _holder_lock(host: str = "elsewhere") -> bytes:
    return json.dumps({"format": 1, "id": "someone-else", "command": "sync",
                       "owner": {"user": "someone", "host": host, "pid": 1, "boot_id": "x"},
                       "created": "2026-01-01T00:00:00Z", "expires": "2099-01-01T00:00:00Z",
                       "expires_epoch": 4070908800}).encode()


def test_a_held_lock_makes_the_plain_writer_wait_then_fail_naming_the_holder(project, backend, tmp_path):
    _s3_only(backend)
    log = tmp_path / "imports.log"
    assert _sync(project, log)[0] == 0
    before = backend.files()
    backend.write(LOCK_NAME, _holder_lock())
    source = project.folder / "examples" / "text_classifier" / "3" / "model.py"
    source.write_text(source.read_text() + "# edited\n")
    started = time.monotonic()
    code, out, err, imported, _ = _sync(project, log, "--lock-wait", "1")
    assert code == 1 and "Traceback" not in err, err
    assert "is locked by another sync: someone@elsewhere (pid 1)" in err, err
    assert time.monotonic() - started < 30
    assert _no_sdk(imported) == []
    assert backend.files() == before and backend.read(LOCK_NAME) == _holder_lock()


def _plain(emulator, root: str, timeout: float = 30.0) -> Target:
    """A target on moto opened on PlainS3, as the helper opens it."""
    target = Target("", f"s3://{root}", None, "", False, endpoint=emulator.endpoint,
                    options=emulator.storage_options(), timeout=timeout)
    where = route(target, {})
    assert where is not None
    target.provide(s3_store.PlainS3(where, timeout), where.root, s3_store.carries)
    return target


@pytest.mark.emulators
def test_the_conditional_put_is_honoured_and_the_calls_answer_as_s3fs(s3_emulator):
    bucket = s3_emulator.make_bucket()
    target = _plain(s3_emulator, f"{bucket}/models")
    fs, sdk = target.fs, s3_emulator.fs()
    path = target.path("m/1/model.py")
    reply = fs.pipe_file(path, b"weights")
    assert reply["ETag"].strip('"') == sdk.info(path)["ETag"].strip('"')
    assert fs.cat_file(path, start=0) == b"weights"
    info = fs.info(path)
    assert (info["size"], info["ETag"].strip('"')) == (7, sdk.info(path)["ETag"].strip('"'))
    lock = target.path(LOCK_NAME)
    fs.pipe_file(lock, b"first", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file(lock, b"second", mode="create")
    assert sdk.cat_file(lock) == b"first"
    assert set(fs.find(target.root, detail=True)) == set(sdk.find(target.root)) == {path, lock}
    assert fs.exists(bucket) and fs.exists(path) and not fs.exists(target.path("m/2/model.py"))
    with fs.open(path, "rb") as handle:
        assert handle.read(3) + handle.read() == b"weights"
    fs.rm_file(lock)
    fs.rm_file(lock)  # gone already: as S3 answers, not an error
    with pytest.raises(FileNotFoundError):
        fs.cat_file(lock)
    with pytest.raises(FileNotFoundError):
        fs.info(lock)


def test_a_lock_whose_create_answer_was_lost_is_ours():
    """The create arrived, its answer did not, and the retried conditional PUT finds the lock there
    (412): it is ours (before, the sync waited for itself and failed naming itself)."""
    objects: dict = {}

    class LostAnswer:
        protocol = ("s3",)

        def pipe_file(self, path, data, mode="overwrite"):
            if mode == "create" and path in objects:
                raise FileExistsError(path)
            objects[path] = data
            if mode == "create":
                raise FileExistsError(path)  # the retry's answer: the first one was lost

        def cat_file(self, path, start=None):
            if path not in objects:
                raise FileNotFoundError(path)
            return objects[path]

        def rm_file(self, path):
            objects.pop(path, None)

    target = Target("", "s3://bucket/models", None, "", False)
    target.provide(LostAnswer(), "bucket/models", lambda plan: True)
    lock = TargetLock(target, wait=0.5)
    lock.acquire(free=True)
    try:
        assert lock.held and lock.contended
    finally:
        lock.release()
    assert objects == {}


SECRET = "attacker-must-not-see-this-0123456789"


def _hostile(url: str, timeout: float = 10.0) -> Target:
    options = {"key": "AKIAEXAMPLE", "secret": SECRET, "client_kwargs": {"endpoint_url": url}}
    target = Target("", "s3://bucket/models", None, "", False, secrets=(SECRET,), endpoint=url, options=options,
                    timeout=timeout)
    where = route(target, {})
    assert where is not None
    target.provide(s3_store.PlainS3(where, timeout), where.root, s3_store.carries)
    return target


@pytest.mark.parametrize("status,payload,redirect,category,attempts", [
    (301, b"", True, OTHER, 1), (307, b"<Error><Code>TemporaryRedirect</Code></Error>", True, OTHER, 1),
    (500, b"<Error><Code>InternalError</Code></Error>", False, TRANSIENT, s3_store.ATTEMPTS),
    (503, b"<Error><Code>SlowDown</Code></Error>", False, TRANSIENT, s3_store.ATTEMPTS),
    (403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", False, DENIED, 1),
    (418, b"<html>\x00\xff garbage</html>", False, OTHER, 1),
])
def test_a_hostile_answer_to_a_write_is_explained_never_followed(status, payload, redirect, category, attempts):
    """A redirect is not followed (nothing reaches the host it names), 5xx and throttling are
    retried as botocore retries them and then explained, a denial or anything else is explained
    at once; the secret is never sent nor shown."""
    with Recorder(status=200, payload=b"") as elsewhere:
        headers = {"Location": f"{elsewhere.url}/stolen"} if redirect else {}
        with Recorder(status=status, payload=payload, headers=headers) as attacker:
            target = _hostile(attacker.url)
            with pytest.raises(Exception) as raised:
                target.fs.pipe_file(target.path("m/1/model.py"), b"weights")
        assert elsewhere.log == []
    assert len(attacker.log) == attempts
    assert classify(raised.value) == category
    message = explain(raised.value, target, "upload", "m/1/model.py")
    assert isinstance(message, FatalError)
    shown = f"{message.message} {message.hint}"
    assert "cannot upload" in shown and SECRET not in shown and SECRET not in attacker.received()
    for request in attacker.log:
        headers = {name.lower(): value for name, value in request["headers"].items()}
        assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")
        assert headers["user-agent"] == s3_http.USER_AGENT


def _garbage_server(answer: bytes):
    """A listener that answers every connection with `answer` (not HTTP) and closes it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()
    seen: list = []

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection = listener.accept()[0]
            except OSError:
                continue
            seen.append(connection.recv(1 << 16))
            connection.sendall(answer)
            connection.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", seen, stop, thread, listener


@pytest.mark.parametrize("answer", [b"", b"SSH-2.0-OpenSSH\r\n", b"HTTP/1.1 abc\r\n\r\n"])
def test_garbage_instead_of_http_is_retried_then_explained(answer):
    url, seen, stop, thread, listener = _garbage_server(answer)
    try:
        target = _hostile(url)
        with pytest.raises(Exception) as raised:
            target.fs.pipe_file(target.path("m/1/model.py"), b"weights")
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert len(seen) == s3_store.ATTEMPTS
    message = explain(raised.value, target, "upload", "m/1/model.py")
    assert "cannot upload" in message.message and SECRET not in message.message + message.hint


def test_a_store_that_never_answers_a_write_stops_at_the_storage_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        target = _hostile(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=1.5)
        started = time.monotonic()
        with pytest.raises(StorageTimeout) as raised:
            target.fs.pipe_file(target.path(STATE_NAME), b"{}")
        assert raised.value.seconds == 1.5 and time.monotonic() - started < 5
    finally:
        listener.close()


def _change(action="update", size=10, method="upload", data=None, source="x", origin=None):
    entry = SimpleNamespace(data=data, source=source, origin=origin)
    return SimpleNamespace(action=action, want=None if action == "delete" else SimpleNamespace(size=size, entry=entry),
                           method=method)


def test_what_the_plain_writer_carries_is_decided_per_plan():
    from compiler.sync.transfer import STREAM_LIMIT

    def plan(*changes):
        return SimpleNamespace(active=list(changes))

    assert s3_store.carries(plan(_change(), _change("delete"), _change(data=b"cfg", source=None)))
    assert s3_store.carries(plan(_change(size=STREAM_LIMIT)))
    assert not s3_store.carries(plan(_change(), _change(size=STREAM_LIMIT + 1)))  # multipart: the SDK
    assert not s3_store.carries(plan(_change(method="server-side")))  # a copy by the store: the SDK
    assert not s3_store.carries(plan(_change(source=None, origin="s3://elsewhere/x")))  # fetched first: the SDK


def test_a_plan_made_again_under_the_lock_that_needs_the_sdk_opens_it_before_writing(s3_emulator):
    bucket = s3_emulator.make_bucket()
    target = _plain(s3_emulator, f"{bucket}/models")
    assert isinstance(target.fs, s3_store.PlainS3)
    target.fit(SimpleNamespace(active=[_change()]))
    assert isinstance(target.fs, s3_store.PlainS3)
    target.fit(SimpleNamespace(active=[_change(method="server-side")]))
    assert not isinstance(target.fs, s3_store.PlainS3) and target.root == f"{bucket}/models"


def _audited(project, log, *args):
    """(exit code, output, [(pid, module)], the main process's pid) of `triton-gitops ARGS`."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRITON_GITOPS_PREFETCH": "1"}
    done = subprocess.run([sys.executable, "-c", _AUDIT, str(log), *args, str(project.manifest), "--target", "t"],
                          env=env, cwd=project.folder, capture_output=True, text=True, timeout=300)
    imported = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    code, parent = done.stdout.split()[-2:] if done.returncode == 0 else ("-1", "?")
    return int(code), done.stdout + done.stderr, imported, parent


def test_a_big_edit_imports_the_sdk_early_for_sync_only(project, backend, tmp_path):
    """An edited file too big for one request is written through the SDK, which the helper then
    imports right after its read (the early guess). `plan` and `sync --dry-run` hand it no plan:
    it ends after the read and imports nothing (before, they waited for that import)."""
    _s3_only(backend)
    from compiler.sync.transfer import STREAM_LIMIT

    log = tmp_path / "imports.log"
    big = project.folder / "examples" / "text_classifier" / "1" / "weights.bin"
    big.write_bytes(os.urandom(1 << 16) * ((STREAM_LIMIT >> 16) + 1))
    assert _audited(project, log, "sync")[0] == 0
    with open(big, "r+b") as handle:  # same size, other bytes
        handle.write(b"edited")
    for command in (("plan",), ("sync", "--dry-run")):
        code, output, imported, _ = _audited(project, log, *command)
        assert code == 2, output
        assert "text_classifier/1/weights.bin" in output
        assert any(module == "http.client" for _, module in imported), "the helper read the target"
        assert _no_sdk(imported) == [], command
    code, output, imported, parent = _audited(project, log, "sync")
    assert code == 0, output
    assert {module for pid, module in imported if pid != parent} >= {"aiobotocore", "botocore"}, "the helper wrote"
    assert [module for pid, module in imported if pid == parent and module.split(".")[0] in SDK] == []
    assert backend.files() == project.expected()

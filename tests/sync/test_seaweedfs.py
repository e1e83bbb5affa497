"""The sync against a second, real S3 implementation: SeaweedFS (`weed mini`, a Go object store;
tests/support/emulators.py, SeaweedEmulator), where everything else in the suite meets moto.

Each request goes through a recording proxy on loopback (tests/hardening/faultproxy.py, no
faults), which shows who sent it (the plain S3 path's user agent or botocore's) and with which
headers (a server-side copy names its source and carries no body). Covered: the first upload,
a no-op, a same-size edit of one version file, a new model, a prune, a held lock (our lock is a
PUT with If-None-Match: *, which SeaweedFS refuses with 412 when the object exists), a
multipart upload checked by its CRC32 checksums, and a promotion between two buckets copied by the store
(CopyObject, and UploadPartCopy as a file beyond CopyObject's limit takes); with the fast path
on, the prefetch helper's plain S3 reader and writer (compiler/fastpath/s3_raw.py, s3_store.py)
carry the no-op, the edit and the new model without the SDK.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import s3fs.core

from compiler.artifacts import remote_copy
from compiler.errors import FatalError
from compiler.fastpath.s3_route import route
from compiler.fastpath.s3_store import PlainS3
from compiler.storage.stores import Bounded
from compiler.sync import transfer
from compiler.sync.state import LOCK_NAME, STATE_NAME, State, create_control
from compiler.sync.target import Target
from compiler.sync.target_lock import TargetLock
from tests.artifacts.manifests import sha256, write_manifest
from tests.hardening.faultproxy import FaultProxy
from tests.helpers import REPO, run_cli, run_json
from tests.sync.conftest import Backend, echo_model

pytestmark = pytest.mark.emulators

PART = 5 << 20  # S3's smallest part; the real limits are 32 MiB (one request) and 16 MiB parts
# The plain S3 path's User-Agent up to its first space (s3_http.USER_AGENT, on every request it
# reads or writes with); botocore's is "aiobotocore/...".
PLAIN_AGENT = "triton-gitops"
WRITES = ("PUT", "POST", "DELETE")


@pytest.fixture
def proxy(seaweedfs_emulator, monkeypatch):
    """A recording proxy in front of SeaweedFS; the storage policy allows it, as a workflow would."""
    proxy = FaultProxy(seaweedfs_emulator.endpoint).start()
    allowed = os.environ.get("TRITON_GITOPS_ALLOWED_ENDPOINTS", "")
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", f"{allowed} {proxy.endpoint}".strip())
    yield proxy
    proxy.stop()


def _spec(endpoint: str, bucket: str, prefix: str = "models") -> dict:
    return {"url": f"s3://{bucket}/{prefix}",
            "storage_options": {"key": "testing", "secret": "testing",
                                "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}}


@pytest.fixture
def backend(seaweedfs_emulator, proxy, tmp_path, monkeypatch):
    """The sync suite's Backend (tests/sync/conftest.py) on a fresh SeaweedFS bucket, reached by the
    tool through the proxy and by the test directly."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = seaweedfs_emulator.make_bucket(f"t-{uuid.uuid4().hex[:12]}")
    backend = Backend("s3", seaweedfs_emulator.fs(), f"{bucket}/models", _spec(proxy.endpoint, bucket), {})
    backend.emulator, backend.bucket, backend.proxy = seaweedfs_emulator, bucket, proxy
    return backend


def _cli(project, *args) -> tuple:
    """(exit code, JSON answer or None, stderr) of `triton-gitops ARGS --target t` in a process of its
    own, as a user runs it: the prefetch helper forks only in a process without other threads
    (the proxy's are in this one)."""
    command = [sys.executable, "-m", "compiler", *args[:1], str(project.manifest), "--target", "t", *args[1:],
               "--output", "json"]
    done = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=project.folder,
                          capture_output=True, text=True, timeout=120)
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        answer = None
    return done.returncode, answer, done.stdout + done.stderr


def _agents(proxy, methods=None) -> set:
    return {agent for (method, agent) in proxy.agents if methods is None or method in methods}


@pytest.mark.usefixtures("both_ways")
def test_upload_noop_edit_new_model_and_prune(project, backend, both_ways):
    proxy = backend.proxy
    code, plan, err = _cli(project, "plan")
    assert code == 2 and {c["action"] for c in plan["changes"]} == {"create"}, err
    code, result, err = _cli(project, "sync")
    assert code == 0, err
    assert backend.files() == project.expected()
    state = State.from_bytes(backend.read(STATE_NAME))
    assert set(state.files) == set(project.expected()) and not any(r.pending for r in state.files.values())
    assert not backend.exists(LOCK_NAME)

    proxy.reset()
    code, result, err = _cli(project, "sync")
    assert code == 0 and result["sent_files"] == 0 and result["in_sync"], err
    assert not _agents(proxy, WRITES)
    # The fast path's no-op reads the state and lists the bucket without the SDK; the plain code only with it.
    assert _agents(proxy) == ({PLAIN_AGENT} if both_ways == "fastpath" else {"aiobotocore"}), proxy.agents

    source = project.folder / "examples" / "text_classifier" / "2" / "model.py"
    before = source.stat()
    source.write_text(source.read_text().replace("TEMPERATURE = 1.0", "TEMPERATURE = 2.0"))  # same size
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))  # and mtime
    proxy.reset()
    code, result, err = _cli(project, "sync")
    assert code == 0 and result["sent_files"] == 1, err
    assert [(c["action"], c["path"]) for c in result["changes"]] == [("update", "text_classifier/2/model.py")]
    assert backend.read("text_classifier/2/model.py") == source.read_bytes()
    puts = [(m, p) for m, p, _ in proxy.seen if m == "PUT" and p.endswith("/text_classifier/2/model.py")]
    assert len(puts) == 1, proxy.seen
    if both_ways == "fastpath":  # written by the plain S3 writer: the lock, the file, the state
        assert _agents(proxy) == {PLAIN_AGENT}, proxy.agents
        lock_puts = [h for m, p, h in proxy.seen if m == "PUT" and p.endswith(LOCK_NAME)]
        assert lock_puts and all(h.get("if-none-match") == "*" for h in lock_puts[:1]), proxy.seen

    project.models["echo"] = echo_model()
    project.save()
    proxy.reset()
    code, result, err = _cli(project, "sync")
    assert code == 0 and result["sent_files"] == 2, err
    assert backend.files() == project.expected()
    if both_ways == "fastpath":
        assert _agents(proxy) == {PLAIN_AGENT}, proxy.agents

    del project.models["text_classifier"]["versions"][1]
    project.save()
    code, result, err = _cli(project, "sync")
    assert code == 0 and backend.exists("text_classifier/1/model.py"), err  # kept without --prune
    code, result, err = _cli(project, "sync", "--prune")
    assert code == 0 and result["deleted"] == 1, err
    assert backend.files() == project.expected()
    assert "text_classifier/1/model.py" not in State.from_bytes(backend.read(STATE_NAME)).files
    assert _cli(project, "plan")[0] == 0


def _foreign_lock(expires_in: float) -> bytes:
    now = time.time()
    return json.dumps({"format": 1, "id": "foreign", "command": "sync",
                       "owner": {"user": "ci", "host": "runner-7.example", "pid": 4242, "boot_id": "x"},
                       "created": "2025-01-01T00:00:00Z",
                       "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + expires_in)),
                       "expires_epoch": int(now + expires_in)}).encode()


def test_the_lock_is_a_create_seaweedfs_refuses_when_it_exists(seaweedfs_emulator, backend, project, monkeypatch):
    """Our lock relies on the store refusing a PUT with If-None-Match: * over an existing object.
    With the look before it skipped (`free=True`: the listing of a moment ago showed no lock), that
    refusal is all that keeps a live lock from being overwritten. SeaweedFS refuses (412
    PreconditionFailed), but its error names no <Condition>, which s3fs needs to call it
    FileExistsError (moto's and AWS's do): s3fs raises OSError(EINVAL), which the lock must read
    as "held" all the same, through the SDK as through the plain writer."""
    backend.write(LOCK_NAME, _foreign_lock(600))
    options = _spec(seaweedfs_emulator.endpoint, backend.bucket)["storage_options"]
    sdk = Target("", f"s3://{backend.root}", Bounded(seaweedfs_emulator.fs(), 30.0), backend.root, False,
                 endpoint=seaweedfs_emulator.endpoint, options=options, timeout=30.0)
    plain = Target("", f"s3://{backend.root}", None, "", False, endpoint=seaweedfs_emulator.endpoint,
                   options=options, timeout=30.0)
    plain.provide(PlainS3(route(plain, {}), 30.0), backend.root, lambda plan: True)
    with pytest.raises(FileExistsError):  # the store's own answer: 412 (the plain writer reads it so)
        plain.fs.pipe_file(backend.path(LOCK_NAME), b"mine", mode="create")
    for target in (sdk, plain):
        assert create_control(target, LOCK_NAME, b"mine") is False
        with pytest.raises(FatalError, match=r"locked by another sync: ci@runner-7\.example"):
            TargetLock(target, wait=0.3).acquire(free=True)
        assert json.loads(backend.read(LOCK_NAME))["id"] == "foreign"  # never overwritten
    assert create_control(sdk, "created-by-sdk", b"1") and create_control(plain, "created-plain", b"2")
    assert backend.read("created-by-sdk") == b"1" and backend.read("created-plain") == b"2"
    backend.delete("created-by-sdk")
    backend.delete("created-plain")

    # A whole sync (through the SDK: the proxy's threads keep the prefetch helper from forking)
    # whose listing showed no lock, and another sync takes it right before ours tries.
    real_acquire = TargetLock.acquire

    def another_sync_first(self, *args, **kwargs):
        backend.write(LOCK_NAME, _foreign_lock(600))
        return real_acquire(self, *args, **kwargs)

    backend.delete(LOCK_NAME)
    monkeypatch.setattr(TargetLock, "acquire", another_sync_first)
    code, out, err = run_cli("sync", project.manifest, "--target", "t", "--lock-wait", "1")
    assert code == 1 and "locked by another sync: ci@runner-7.example (pid 4242)" in err, out + err
    assert "Traceback" not in err and not backend.exists("preprocess/config.pbtxt")
    monkeypatch.setattr(TargetLock, "acquire", real_acquire)
    code, out, err = run_cli("sync", project.manifest, "--target", "t", "--force-unlock")
    assert code == 0, err
    assert backend.files() == project.expected() and not backend.exists(LOCK_NAME)


@pytest.fixture
def small_limits(monkeypatch):
    """Multipart above 1 MiB, in parts of 5 MiB (S3's smallest), two at a time."""
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "2")
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)


def _multipart_etag(data: bytes, part: int) -> str:
    digests = b"".join(hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part))
    return f"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // part)}"


def test_a_multipart_upload_is_verified_by_the_composite_checksum_seaweedfs_answers(seaweedfs_emulator, proxy, small_limits, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    data = os.urandom(2 * PART + 12345)  # three parts, the last one short
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.onnx").write_bytes(data)
    bucket = seaweedfs_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/model.onnx"}, targets={"t": _spec(proxy.endpoint, bucket, "repo")})
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    key = f"/{bucket}/repo/m/1/model.onnx"
    parts = [path for method, path, _ in proxy.seen if method == "PUT" and path.startswith(f"{key}?")
             and "partNumber=" in path]
    assert len(parts) == 3, proxy.seen
    # Sent with CRC32s (compiler/sync/s3_parts.py), and SeaweedFS answers the complete with the
    # composite, as S3 does (moto only on a HEAD): that answer is the check, so no HEAD follows.
    creates = [headers for method, path, headers in proxy.seen if method == "POST" and path.endswith("?uploads")]
    assert [h.get("x-amz-checksum-algorithm") for h in creates] == ["CRC32"], proxy.seen
    part_headers = [headers for method, path, headers in proxy.seen if method == "PUT" and "partNumber=" in path]
    assert all(h.get("x-amz-checksum-crc32") for h in part_headers), part_headers
    assert not [path for method, path, _ in proxy.seen if method == "HEAD" and path.startswith(key)], proxy.seen
    fs = seaweedfs_emulator.fs()
    info = fs.info(key.lstrip("/"))
    assert info["ETag"].strip('"') == _multipart_etag(data, PART)
    assert sha256(fs.cat_file(key.lstrip("/"))) == sha256(data)
    record = State.from_bytes(fs.cat_file(f"{bucket}/repo/{STATE_NAME}")).files["m/1/model.onnx"]
    assert not record.pending and record.sha256 == sha256(data)
    assert record.stamp == info["ETag"].strip('"')  # the object the complete answered for
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0 and "in sync, nothing to do" in out, out + err


def test_a_promotion_between_two_buckets_is_copied_by_the_store(seaweedfs_emulator, proxy, small_limits, tmp_path,
                                                               monkeypatch):
    """staging and prod in two buckets of one SeaweedFS: prod gets its files by CopyObject (the
    multipart one too), and by UploadPartCopy for a file above CopyObject's limit (5 GiB, where
    ours hands the copy to s3fs, which copies in parts above its own threshold; both lowered
    here to 15 MiB). No body is sent to prod, none read from staging."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # one request; multipart (3 parts); multipart (4 parts) and above the copy limit lowered below
    sizes = {1: 200_001, 2: 2 * PART + 7, 3: 3 * PART + 1}
    (tmp_path / "src").mkdir()
    for n, size in sizes.items():
        (tmp_path / "src" / f"v{n}.onnx").write_bytes(os.urandom(size))
    staging, prod = seaweedfs_emulator.make_bucket(), seaweedfs_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {n: f"src/v{n}.onnx" for n in sizes}, targets={
        "staging": _spec(proxy.endpoint, staging, "staging"), "prod": _spec(proxy.endpoint, prod, "prod")})
    assert run_cli("sync", manifest, "--target", "staging")[0] == 0
    code, report, _ = run_json("plan", manifest, "--target", "prod", "--from-target", "staging")
    assert code == 2 and {c["method"] for c in report["changes"]} == {"server-side"}, report

    # Above these, ours leaves the copy to s3fs's cp_file and s3fs copies in parts (UploadPartCopy).
    monkeypatch.setattr(remote_copy, "_S3_COPY_LIMIT", 3 * PART)
    monkeypatch.setattr(s3fs.core, "MANAGED_COPY_THRESHOLD", 3 * PART)
    proxy.reset()
    code, out, err = run_cli("sync", manifest, "--target", "prod", "--from-target", "staging")
    assert code == 0, out + err
    assert "4 copied server-side" in out, out
    writes = [(method, path, headers) for method, path, headers in proxy.seen
              if method in ("PUT", "POST") and path.startswith(f"/{prod}/prod/m/")]
    copies = {path.split("?")[0].split("/prod/", 1)[1]: headers for method, path, headers in writes
              if "x-amz-copy-source" in headers}
    assert set(copies) == {"m/1/model.onnx", "m/2/model.onnx", "m/3/model.onnx", "m/config.pbtxt"}, writes
    for rel, headers in copies.items():
        assert headers["x-amz-copy-source"].lstrip("/").endswith(f"{staging}/staging/{rel}"), headers
        assert int(headers.get("content-length", "0")) == 0
    part_copies = [path for method, path, headers in writes if "x-amz-copy-source-range" in headers]
    assert part_copies and all("/m/3/model.onnx?" in path for path in part_copies), writes  # UploadPartCopy
    bodies = [(method, path) for method, path, headers in writes
              if "x-amz-copy-source" not in headers and int(headers.get("content-length", "0"))]
    assert all(method == "POST" and "uploadId=" in path for method, path in bodies), bodies  # a completion's parts list
    staging_reads = [path for method, path, _ in proxy.seen if method == "GET" and path.startswith(f"/{staging}/staging/m/")]
    assert staging_reads == []  # listed (and its state read), never a body
    fs = seaweedfs_emulator.fs()
    for n in sizes:
        assert sha256(fs.cat_file(f"{prod}/prod/m/{n}/model.onnx")) == sha256((tmp_path / "src" / f"v{n}.onnx").read_bytes())
    assert run_cli("plan", manifest, "--target", "prod")[0] == 0  # prod's own state says it is in sync

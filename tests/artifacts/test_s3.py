"""s3:// sources on moto; what moto received (its recorder) is the evidence for cache hits
and server-side copies."""
import os
from dataclasses import replace

import pytest

from compiler.artifacts.digest import folder_digest
from compiler.artifacts.remote_copy import SERVER_SIDE, UPLOAD, SourceChanged, copy_method, local_copy, server_side_copy
from compiler.artifacts.settings import Settings
from compiler.pipeline import load_and_build
from compiler.storage.files import CHUNK
from tests.artifacts.manifests import files_of, sha256, write_manifest
from tests.artifacts.servers import moto_requests
from tests.helpers import run_cli, run_json

pytestmark = pytest.mark.emulators


@pytest.fixture
def bucket(s3_emulator):
    return s3_emulator.make_bucket()


def body_gets(requests, bucket):
    """GETs of object bodies in `bucket` (listings are GETs of the bucket itself, with a query)."""
    return [path for method, path, _ in requests if method == "GET" and path.startswith(f"/{bucket}/")
            and "?" not in path]


def source(s3_emulator, url, **extra):
    return {"source": url, "storage_options": s3_emulator.storage_options(), **extra}


def test_s3_file_and_folder_sources_with_pins_then_cache_hits(tmp_path, s3_emulator, bucket):
    fs = s3_emulator.fs()
    big = os.urandom(2 * CHUNK + 5)
    fs.pipe_file(f"{bucket}/bert/2/model.onnx", big)
    fs.pipe_file(f"{bucket}/bert/2/ext/weights.bin", b"w" * 1000)
    fs.pipe_file(f"{bucket}/bert/2/.git/HEAD", b"skipped")
    fs.pipe_file(f"{bucket}/tiny.onnx", b"tiny model")
    digest = folder_digest([("model.onnx", sha256(big)), ("ext/weights.bin", sha256(b"w" * 1000))])
    manifest = write_manifest(tmp_path, {
        1: source(s3_emulator, f"s3://{bucket}/tiny.onnx"),
        2: source(s3_emulator, f"s3://{bucket}/bert/2", sha256=digest),
    })
    with moto_requests(s3_emulator) as recorded:
        code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
        assert code == 0, out + err
        first = body_gets(recorded(), bucket)
    got = files_of(tmp_path / "out")
    del got["m/config.pbtxt"], got[".triton-gitops-compiled"], got[".triton-gitops-state.json"]
    assert got == {"m/1/model.onnx": b"tiny model", "m/2/model.onnx": big, "m/2/ext/weights.bin": b"w" * 1000}
    assert f"/{bucket}/bert/2/model.onnx" in first and f"/{bucket}/tiny.onnx" in first
    with moto_requests(s3_emulator) as recorded:
        assert run_cli("compile", manifest, "--out", tmp_path / "out2")[0] == 0
        assert run_cli("compile", manifest, "--out", tmp_path / "out2", "--dry-run")[0] == 0
        assert body_gets(recorded(), bucket) == []  # HEADs and listings only: no second download
    assert files_of(tmp_path / "out2") == files_of(tmp_path / "out")


def test_s3_lock_mismatch_after_the_object_is_replaced(tmp_path, s3_emulator, bucket):
    fs = s3_emulator.fs()
    fs.pipe_file(f"{bucket}/m/model.onnx", b"reviewed")
    manifest = write_manifest(tmp_path, {1: source(s3_emulator, f"s3://{bucket}/m/model.onnx")})
    assert run_cli("lock", manifest)[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "out", "--locked")[0] == 0
    fs.pipe_file(f"{bucket}/m/model.onnx", b"replaced")  # same URL, same size, other bytes
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out", "--locked")
    assert code == 1
    (problem,) = report["problems"]
    assert problem["rule"] == "lock-mismatch" and problem["path"] == "models.m.versions.1.source"
    assert f"s3://{bucket}/m/model.onnx" in problem["message"]
    assert sha256(b"replaced") in problem["message"] and sha256(b"reviewed") in problem["message"]
    assert files_of(tmp_path / "out")["m/1/model.onnx"] == b"reviewed"


def test_s3_missing_source_and_bad_env_reference(tmp_path, s3_emulator, bucket):
    options = {**s3_emulator.storage_options(), "key": "${TG_TEST_UNSET_KEY}"}
    manifest = write_manifest(tmp_path, {1: source(s3_emulator, f"s3://{bucket}/nope.onnx"),
                                         2: {"source": f"s3://{bucket}/x", "storage_options": options}})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    assert sorted((p["rule"], p["path"]) for p in report["problems"]) == [
        ("source-env", "models.m.versions.2.storage_options.key"),
        ("source-missing", "models.m.versions.1.source")]


def _lazy_tree(manifest):
    # What sync does when it may copy server-side, with this environment's storage policy (the emulator's endpoint).
    loaded, tree = load_and_build(manifest, replace(Settings.for_run(), fetch=False))
    assert tree is not None, loaded.problems
    return [e for e in tree.entries if e.origin is not None]


@pytest.mark.parametrize("locked", [False, True])
def test_s3_to_s3_copy_is_server_side(tmp_path, s3_emulator, bucket, locked):
    fs = s3_emulator.fs()
    data = os.urandom(CHUNK + 77)
    fs.pipe_file(f"{bucket}/src/model.onnx", data)
    target_bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: source(s3_emulator, f"s3://{bucket}/src/model.onnx",
                                                   **({"sha256": sha256(data)} if locked else {}))})
    if locked:
        assert run_cli("lock", manifest)[0] == 0  # reads the object once and records its digest
    with moto_requests(s3_emulator) as recorded:
        (entry,) = _lazy_tree(manifest)
        assert entry.source is None and entry.origin.sha256 == (sha256(data) if locked else "")
        target_url = f"s3://{target_bucket}/repo"
        assert copy_method(entry, target_url, s3_emulator.storage_options()) == SERVER_SIDE
        server_side_copy(entry.origin, s3_emulator.fs(), f"{target_bucket}/repo/{entry.path}")
        requests = recorded()
    assert body_gets(requests, bucket) == []
    copies = [h for m, p, h in requests if m == "PUT" and p == f"/{target_bucket}/repo/m/1/model.onnx"]
    assert len(copies) == 1 and copies[0]["x-amz-copy-source"].endswith(f"{bucket}/src/model.onnx")
    assert copies[0]["x-amz-copy-source-if-match"]
    assert fs.cat_file(f"{target_bucket}/repo/m/1/model.onnx") == data
    # Another store (or other credentials) means an upload from a verified local copy.
    assert copy_method(entry, "gs://elsewhere/repo", {}) == UPLOAD
    assert copy_method(entry, target_url, {**s3_emulator.storage_options(), "key": "other"}) == UPLOAD
    assert local_copy(entry.origin, Settings().cache_root).read_bytes() == data
    # sync's mode: digests known, bytes left remote
    loaded, tree = load_and_build(manifest, replace(Settings.for_run(), fetch=False, digests=True))
    (entry,) = [e for e in tree.entries if e.origin is not None]
    assert entry.origin.sha256 == sha256(data) and entry.source is None


def test_s3_server_side_copy_refuses_an_object_replaced_since_it_was_listed(tmp_path, s3_emulator, bucket):
    fs = s3_emulator.fs()
    fs.pipe_file(f"{bucket}/src/model.onnx", b"listed")
    manifest = write_manifest(tmp_path, {1: source(s3_emulator, f"s3://{bucket}/src/model.onnx")})
    (entry,) = _lazy_tree(manifest)
    fs.pipe_file(f"{bucket}/src/model.onnx", b"changed since")
    # S3 answers 412 to the If-Match; moto ignores that header, so the ETag check after the copy acts.
    with pytest.raises(OSError) as caught:
        server_side_copy(entry.origin, s3_emulator.fs(), f"{bucket}/dst/model.onnx")
    assert isinstance(caught.value, SourceChanged) or "Precondition" in str(caught.value)
    assert not fs.exists(f"{bucket}/dst/model.onnx")


def test_s3_download_memory_does_not_grow_with_the_file(tmp_path, s3_emulator, bucket):
    """s3fs would fetch 10 parts of 50 MiB at once into memory; one streamed GET per file it is."""
    import tracemalloc

    data = os.urandom(96 << 20)
    s3_emulator.fs().pipe_file(f"{bucket}/big.onnx", data)
    manifest = write_manifest(tmp_path, {1: source(s3_emulator, f"s3://{bucket}/big.onnx", sha256=sha256(data))})
    del data
    tracemalloc.start()
    try:
        code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 0, out + err
    assert peak < 24 << 20, f"peak traced memory {peak / 1e6:.1f} MB for a 100 MB object"

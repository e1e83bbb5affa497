"""https:// sources, served by a loopback HTTP server whose request log is the evidence."""
import os

import pytest

from compiler.storage.files import CHUNK
from tests.artifacts.manifests import files_of, sha256, write_manifest
from tests.artifacts.servers import FileServer
from tests.helpers import run_cli, run_json


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    with FileServer(root) as server:
        yield server


def test_http_file_source_is_downloaded_once_then_served_from_the_cache(tmp_path, served, isolated_cache):
    data = os.urandom(3 * CHUNK + 123)  # several chunks: the body is streamed, not read whole
    (served.root / "model.onnx").write_bytes(data)
    manifest = write_manifest(tmp_path / "repo", {1: {"source": served.url("model.onnx"), "sha256": sha256(data)}})
    code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
    assert code == 0, out + err
    assert files_of(tmp_path / "out")["m/1/model.onnx"] == data
    assert served.gets("model.onnx") == 1
    blobs = [p for p in (isolated_cache / "blobs").rglob("*") if p.is_file()]
    assert [b.name for b in blobs] == [sha256(data)]
    # Second compile (and a dry run): the server sees HEADs only, no second GET.
    assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "out", "--dry-run")[0] == 0
    assert served.gets("model.onnx") == 1
    assert {m for m, _ in served.log} == {"HEAD", "GET"}


def test_http_source_changed_behind_the_same_url_is_downloaded_again_and_fails_the_pin(tmp_path, served):
    (served.root / "model.onnx").write_bytes(b"reviewed bytes")
    manifest = write_manifest(tmp_path / "repo", {1: {"source": served.url("model.onnx"),
                                                      "sha256": sha256(b"reviewed bytes")}})
    assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
    path = served.root / "model.onnx"
    path.write_bytes(b"swapped  bytes")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # Last-Modified moves, as on any real server
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out")
    assert code == 1
    (problem,) = report["problems"]
    assert problem["rule"] == "source-digest-mismatch"
    assert served.url("model.onnx") in problem["message"]
    assert sha256(b"swapped  bytes") in problem["message"] and sha256(b"reviewed bytes") in problem["message"]
    assert files_of(tmp_path / "out")["m/1/model.onnx"] == b"reviewed bytes"  # nothing written
    assert served.gets("model.onnx") == 2


def test_dropped_download_is_retried_and_no_partial_file_enters_the_cache(tmp_path, served, isolated_cache):
    data = os.urandom(CHUNK + 10)
    (served.root / "model.onnx").write_bytes(data)
    served.fail_next("model.onnx", times=2)
    manifest = write_manifest(tmp_path / "repo", {1: served.url("model.onnx")})
    code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
    assert code == 0, out + err
    assert served.gets("model.onnx") == 3
    assert files_of(tmp_path / "out")["m/1/model.onnx"] == data
    # A download that never completes leaves nothing behind.
    (served.root / "other.onnx").write_bytes(data)
    served.fail_next("other.onnx", times=100)
    manifest = write_manifest(tmp_path / "repo2", {1: served.url("other.onnx")})
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out2")
    assert code == 1 and report["problems"][0]["rule"] == "source-unreadable"
    assert not list((isolated_cache / "tmp").iterdir())
    assert [p.name for p in (isolated_cache / "blobs").rglob("*") if p.is_file()] == [sha256(data)]


def test_versions_download_in_parallel(tmp_path, served):
    served.httpd.delay = 0.3
    versions = {}
    for n in range(1, 5):
        (served.root / f"v{n}.onnx").write_bytes(b"v%d" % n)
        versions[n] = served.url(f"v{n}.onnx")
    manifest = write_manifest(tmp_path / "repo", versions)
    assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
    assert served.peak_concurrency >= 2


def test_missing_url_and_folder_url(tmp_path, served):
    manifest = write_manifest(tmp_path / "repo", {1: served.url("nope.onnx"), 2: served.url("folder/")})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    rules = sorted(p["rule"] for p in report["problems"])
    assert rules == ["source-http-folder", "source-missing"]


def test_memory_does_not_grow_with_the_file(tmp_path, served):
    """Download, hash and compile 8 MiB and 64 MiB files: Python's peak allocations are the
    same for both (fixed-size buffers), and far below either file."""
    import tracemalloc

    def peak_for(size: int, name: str) -> int:
        data = os.urandom(size)
        (served.root / name).write_bytes(data)
        manifest = write_manifest(tmp_path / name, {1: {"source": served.url(name), "sha256": sha256(data)}})
        del data
        tracemalloc.start()
        try:
            code, out, err = run_cli("compile", manifest, "--out", tmp_path / f"{name}-out")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert code == 0, out + err
        return peak

    peak_for(1 << 20, "warm.onnx")  # imports (fsspec's HTTP stack) are not what is measured
    small, big = peak_for(8 << 20, "small.onnx"), peak_for(64 << 20, "big.onnx")
    assert big < small + (2 << 20), f"peak grew from {small / 1e6:.1f} MB (8 MiB file) to {big / 1e6:.1f} MB (64 MiB)"
    assert big < 32 << 20, f"peak traced memory {big / 1e6:.1f} MB for a 64 MiB file"

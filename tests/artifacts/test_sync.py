"""Remote sources through `plan`/`sync` (compiler/sync): synced bytes, --locked stopping a sync, and
server-side copies within one store (uploads from anywhere else)."""
import os
import shutil

import pytest

from compiler.storage.files import CHUNK
from tests.artifacts.manifests import sha256, write_manifest
from tests.artifacts.servers import FileServer, moto_requests
from tests.helpers import run_cli, run_json

pytestmark = pytest.mark.emulators


def test_sync_of_an_s3_source_and_locked_refusal(tmp_path, s3_emulator):
    source_bucket, target_bucket = s3_emulator.make_bucket(), s3_emulator.make_bucket()
    fs = s3_emulator.fs()
    fs.pipe_file(f"{source_bucket}/m/model.onnx", b"reviewed")
    options = s3_emulator.storage_options()
    manifest = write_manifest(
        tmp_path, {1: {"source": f"s3://{source_bucket}/m/model.onnx", "storage_options": options}},
        targets={"prod": {"url": f"s3://{target_bucket}/repo", "storage_options": options}})
    assert run_cli("lock", manifest)[0] == 0
    code, out, err = run_cli("sync", manifest, "--target", "prod", "--locked")
    assert code == 0, out + err
    assert fs.cat_file(f"{target_bucket}/repo/m/1/model.onnx") == b"reviewed"
    fs.pipe_file(f"{source_bucket}/m/model.onnx", b"replaced")
    for command in ("plan", "sync"):
        code, out, err = run_cli(command, manifest, "--target", "prod", "--locked")
        assert code == 1, out + err
        assert "[lock-mismatch]" in out and sha256(b"replaced") in out and sha256(b"reviewed") in out
    assert fs.cat_file(f"{target_bucket}/repo/m/1/model.onnx") == b"reviewed"  # nothing was synced


def test_sync_within_one_store_copies_server_side(tmp_path, s3_emulator, isolated_cache):
    source_bucket, target_bucket = s3_emulator.make_bucket(), s3_emulator.make_bucket()
    fs = s3_emulator.fs()
    data = os.urandom(CHUNK + 77)
    fs.pipe_file(f"{source_bucket}/m/model.onnx", data)
    options = s3_emulator.storage_options()
    manifest = write_manifest(
        tmp_path, {1: {"source": f"s3://{source_bucket}/m/model.onnx", "storage_options": options}},
        targets={"prod": {"url": f"s3://{target_bucket}/repo", "storage_options": options}})
    # The digest is learnt once (one download); after that nothing reads the body here. Without the
    # downloaded copy, an upload would have to GET the object again: the request log would show it.
    assert run_cli("lock", manifest)[0] == 0
    shutil.rmtree(isolated_cache / "blobs")
    with moto_requests(s3_emulator) as recorded:
        code, out, err = run_cli("plan", manifest, "--target", "prod")
        assert code == 2, out + err
        (line,) = [line for line in out.splitlines() if "m/1/model.onnx" in line]
        assert line.endswith("(server-side copy)")
        assert "server-side" not in next(line for line in out.splitlines() if "m/config.pbtxt" in line)
        code, report, _ = run_json("plan", manifest, "--target", "prod")
        methods = {c["path"]: c["method"] for c in report["changes"]}
        assert methods == {"m/1/model.onnx": "server-side", "m/config.pbtxt": "upload"}
        code, out, err = run_cli("sync", manifest, "--target", "prod")
        assert code == 0, out + err
        assert "1 copied server-side" in out
        requests = recorded()
    object_gets = [p for m, p, _ in requests if m == "GET" and p.endswith("/model.onnx")]
    assert object_gets == []  # no GET of the body, from either bucket
    puts = [h for m, p, h in requests if m == "PUT" and p == f"/{target_bucket}/repo/m/1/model.onnx"]
    assert len(puts) == 1 and puts[0]["x-amz-copy-source"].endswith(f"{source_bucket}/m/model.onnx")
    assert sha256(fs.cat_file(f"{target_bucket}/repo/m/1/model.onnx")) == sha256(data)
    code, out, err = run_cli("sync", manifest, "--target", "prod")
    assert code == 0 and "in sync, nothing to do" in out, out + err
    assert run_cli("plan", manifest, "--target", "prod")[0] == 0


def test_sync_from_another_store_uploads_the_cached_copy(tmp_path, s3_emulator):
    data = os.urandom(CHUNK + 5)
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "model.onnx").write_bytes(data)
    target_bucket = s3_emulator.make_bucket()
    with FileServer(tmp_path / "www") as server:
        manifest = write_manifest(tmp_path / "m", {1: server.url("model.onnx")}, targets={
            "prod": {"url": f"s3://{target_bucket}/repo", "storage_options": s3_emulator.storage_options()},
            "local": {"url": str(tmp_path / "m" / "repo")}})  # inside the manifest's folder (sync/boundary.py)
        assert run_cli("lock", manifest)[0] == 0  # downloads it once into the cache
        code, report, _ = run_json("plan", manifest, "--target", "prod")
        assert code == 2
        assert {c["path"]: c["method"] for c in report["changes"]}["m/1/model.onnx"] == "upload"
        code, out, err = run_cli("sync", manifest, "--target", "prod")
        assert code == 0, out + err
        assert "server-side" not in out
        assert server.gets("model.onnx") == 1  # the upload was made from the verified cache copy
        assert sha256(s3_emulator.fs().cat_file(f"{target_bucket}/repo/m/1/model.onnx")) == sha256(data)
        code, out, err = run_cli("sync", manifest, "--target", "prod")
        assert code == 0 and "in sync, nothing to do" in out, out + err
        code, out, err = run_cli("sync", manifest, "--target", "local")  # a local folder: the same cache copy
        assert code == 0, out + err
        assert (tmp_path / "m" / "repo" / "m" / "1" / "model.onnx").read_bytes() == data
        assert server.gets("model.onnx") == 1

"""`sync --target prod --from-target staging` on one S3 endpoint: what staging holds as the manifest
wants it is copied by the store (CopyObject), proven from moto's own request log: no body is
sent to prod, none is read from staging."""
from __future__ import annotations

import os

import pytest

from tests.artifacts.manifests import sha256, write_manifest
from tests.artifacts.servers import moto_requests
from tests.helpers import run_cli, run_json

pytestmark = pytest.mark.emulators


@pytest.fixture
def two_targets(tmp_path, s3_emulator, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = s3_emulator.make_bucket()
    options = s3_emulator.storage_options()
    (tmp_path / "src").mkdir()
    for n in (1, 2):
        (tmp_path / "src" / f"v{n}.onnx").write_bytes(os.urandom(200_000 + n))
    manifest = write_manifest(tmp_path, {1: "src/v1.onnx", 2: "src/v2.onnx"}, targets={
        "staging": {"url": f"s3://{bucket}/staging", "storage_options": options},
        "prod": {"url": f"s3://{bucket}/prod", "storage_options": options}})
    return manifest, bucket


def test_promotion_copies_server_side_what_staging_holds(two_targets, s3_emulator, tmp_path):
    manifest, bucket = two_targets
    assert run_cli("sync", manifest, "--target", "staging")[0] == 0
    code, report, _ = run_json("plan", manifest, "--target", "prod", "--from-target", "staging")
    assert code == 2
    assert {c["path"]: c["method"] for c in report["changes"]} == {
        "m/1/model.onnx": "server-side", "m/2/model.onnx": "server-side", "m/config.pbtxt": "server-side"}
    with moto_requests(s3_emulator) as recorded:
        code, out, err = run_cli("sync", manifest, "--target", "prod", "--from-target", "staging")
        requests = recorded()
    assert code == 0, out + err
    assert "3 copied server-side" in out
    writes = [(path, headers) for method, path, headers in requests
              if method in ("PUT", "POST") and path.startswith(f"/{bucket}/prod/m/")]
    assert len(writes) == 3
    for path, headers in writes:  # each one a copy named by its source, with no body of its own
        rel = path.split("/prod/", 1)[1]
        assert headers["x-amz-copy-source"].endswith(f"{bucket}/staging/{rel}"), (path, headers)
        assert int(headers.get("content-length", "0")) == 0
    staging_reads = [path for method, path, _ in requests if method == "GET" and path.startswith(f"/{bucket}/staging/m/")]
    assert staging_reads == []  # listed (and its state read), never a body
    fs = s3_emulator.fs()
    for n in (1, 2):
        assert sha256(fs.cat_file(f"{bucket}/prod/m/{n}/model.onnx")) == \
            sha256((tmp_path / "src" / f"v{n}.onnx").read_bytes())
    assert run_cli("plan", manifest, "--target", "prod")[0] == 0  # prod's own state says it is in sync


def test_a_file_staging_does_not_hold_as_wanted_is_uploaded(two_targets, s3_emulator, tmp_path):
    manifest, bucket = two_targets
    assert run_cli("sync", manifest, "--target", "staging")[0] == 0
    s3_emulator.fs().pipe_file(f"{bucket}/staging/m/2/model.onnx", b"edited on staging by hand")
    (tmp_path / "src" / "v1.onnx").write_bytes(b"a newer v1, not on staging yet")
    code, report, _ = run_json("plan", manifest, "--target", "prod", "--from-target", "staging")
    assert {c["path"]: c["method"] for c in report["changes"]} == {
        "m/1/model.onnx": "upload", "m/2/model.onnx": "upload", "m/config.pbtxt": "server-side"}
    code, out, err = run_cli("sync", manifest, "--target", "prod", "--from-target", "staging")
    assert code == 0, out + err
    fs = s3_emulator.fs()
    assert fs.cat_file(f"{bucket}/prod/m/1/model.onnx") == b"a newer v1, not on staging yet"
    assert fs.cat_file(f"{bucket}/prod/m/2/model.onnx") == (tmp_path / "src" / "v2.onnx").read_bytes()


def test_another_store_cannot_be_copied_from(two_targets, tmp_path):
    manifest, _ = two_targets
    code, out, err = run_cli("plan", manifest, "--target", "prod", "--from-target", "s3://elsewhere/models")
    assert code == 1 and "not the same store" in out + err, out + err

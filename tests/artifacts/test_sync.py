"""Remote sources through `plan`/`sync` (compiler/sync): synced bytes, and --locked stopping a sync."""
import pytest

from tests.artifacts.manifests import sha256, write_manifest
from tests.helpers import run_cli

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

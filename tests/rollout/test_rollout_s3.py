"""rollout against a Triton that reads its repository from S3 (the moto emulator), which
`triton-gitops sync` keeps: rollout first checks that the bucket holds the manifest."""
import json
import re

import pytest

from tests.helpers import run_cli
from tests.rollout.live import infer_add, write_manifest, write_sources
from tests.support.triton import tritonserver_binary

pytestmark = [pytest.mark.triton, pytest.mark.emulators]


def test_rollout_from_a_synced_bucket(s3_emulator, triton_server, tmp_path, monkeypatch):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = s3_emulator.make_bucket()
    spec = json.dumps({"url": f"s3://{bucket}/models", "storage_options": s3_emulator.storage_options()})
    write_sources(tmp_path)

    def publish(**manifest):
        path = write_manifest(tmp_path, extra_targets=f"  s3: {spec}\n", echo=False, **manifest)
        code, out, err = run_cli("sync", path, "--target", "s3", "--prune")
        assert code == 0, out + err

    publish(versions=(1,))
    server = triton_server(s3_emulator.triton_url(f"{bucket}/models"), "--model-control-mode=explicit",
                           env=s3_emulator.env(), wait="live", timeout=120)

    def rollout(*args):
        return run_cli("rollout", tmp_path / "models.yaml", "--target", "s3", "--triton-url", server.http_url, *args)

    code, out, err = rollout()
    assert code == 0, out + err
    assert re.search(r"loaded +add: versions 1 READY", out)
    assert infer_add(server) == (200, [2.0, 3.0])

    # A manifest change not synced yet: rollout refuses rather than load the bucket's old files.
    write_manifest(tmp_path, extra_targets=f"  s3: {spec}\n", echo=False, versions=(1, 2))
    code, out, err = rollout()
    assert code == 1 and "does not hold this manifest yet" in err and "add: 1 file to sync" in err
    assert "triton-gitops sync" in err

    publish(versions=(1, 2))
    code, out, _ = rollout()
    assert code == 0 and "rollout: 1 loaded, 0 unchanged, 0 failed, 0 unloaded" in out
    status, index = server.post("/v2/repository/index", {"ready": True})
    assert [(m["name"], m["version"]) for m in index] == [("add", "2")]
    assert infer_add(server) == (200, [3.0, 4.0])

    publish(versions=(1, 2, 3), broken=(3,))
    code, out, _ = rollout()
    assert code == 3 and "RuntimeError: boom" in out and "Triton keeps serving versions 2 of add" in out
    assert infer_add(server) == (200, [3.0, 4.0])
    code, out, _ = run_cli("status", tmp_path / "models.yaml", "--triton-url", server.http_url)
    assert code == 2 and "serving versions 2, the manifest selects 3" in out

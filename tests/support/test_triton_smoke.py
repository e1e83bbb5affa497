"""A real tritonserver from the nvidia-pytriton wheel starts, serves and stops."""

import pytest
from support.triton import SHM_PREFIX, infer_add_one, mapped_shm_segments, shm_segments, write_add_one_model

pytestmark = pytest.mark.triton


def test_python_model_serves_x_plus_one(triton_server, tmp_path):
    repo = tmp_path / "repo"
    write_add_one_model(repo)
    shm_before = shm_segments()

    server = triton_server(repo)

    assert server.get("/v2/health/ready")[0] == 200
    status, meta = server.get("/v2/models/add_one")
    assert status == 200, meta
    assert meta["inputs"][0]["name"] == "X"
    assert server.get("/v2/models/add_one/ready")[0] == 200
    assert infer_add_one(server, x=[1.0, 2.5]) == (200, [2.0, 3.5])
    assert "Started HTTPService at 127.0.0.1" in server.log_text()

    server.stop()
    assert server.proc.returncode == 0, server.log_text()[-3000:]
    # The python backend's shared-memory regions are gone after shutdown
    # (ignoring ones some other, still running, Triton on this machine maps).
    leftover = shm_segments() - shm_before - mapped_shm_segments()
    assert not {n for n in leftover if n.startswith(SHM_PREFIX)}


def test_explicit_mode_load_and_unload(triton_server, tmp_path):
    repo = tmp_path / "repo"
    write_add_one_model(repo)
    # A model whose backend does not exist can never load.
    (repo / "broken" / "1").mkdir(parents=True)
    (repo / "broken" / "config.pbtxt").write_text('name: "broken"\nbackend: "nope"\n')

    server = triton_server(repo, "--model-control-mode=explicit")
    assert server.get("/v2/models/add_one/ready")[0] == 400  # nothing loaded yet

    status, body = server.post("/v2/repository/models/broken/load", {})
    assert status == 400 and "nope" in body["error"]

    assert server.post("/v2/repository/models/add_one/load", {})[0] == 200
    assert infer_add_one(server, x=[0.0, -1.0]) == (200, [1.0, 0.0])

    assert server.post("/v2/repository/models/add_one/unload", {})[0] == 200
    status, index = server.post("/v2/repository/index", {})
    states = {m["name"]: m.get("state") for m in index}
    assert states["broken"] == "UNAVAILABLE"
    assert states["add_one"] in ("UNAVAILABLE", "UNLOADING")


def test_wait_live_with_failing_model(triton_server, tmp_path):
    repo = tmp_path / "repo"
    (repo / "broken" / "1").mkdir(parents=True)
    (repo / "broken" / "config.pbtxt").write_text('name: "broken"\nbackend: "nope"\n')

    # Without --exit-on-error=false Triton exits when a model fails at startup;
    # with it, the server is live but never ready (strict readiness).
    server = triton_server(repo, "--exit-on-error=false", wait="live")
    assert server.get("/v2/health/live")[0] == 200
    assert server.get("/v2/health/ready")[0] == 400
    assert server.grpc_url.startswith("127.0.0.1:")

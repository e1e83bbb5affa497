"""`status --wait` against real tritonservers in POLL mode reading one local target: two poll
every second, a third polls once an hour (its poller, for the wait, is stuck)."""
import json

import pytest

from tests.helpers import run_cli
from tests.rollout.live import live_root, write_manifest
from tests.support.triton import TritonServer

pytestmark = pytest.mark.triton


@pytest.fixture(scope="module")
def polling(tmp_path_factory):
    root = live_root(tmp_path_factory, "poll")
    servers = [TritonServer(root / "target", "--model-control-mode=poll", f"--repository-poll-secs={secs}",
                            wait="live", log_path=root / f"triton-{n}.log")
               for n, secs in enumerate((1, 1, 3600))]
    try:
        for server in servers:
            server.start()
        yield root, servers
    finally:
        for server in servers:
            server.stop()


def _publish(root, **manifest):
    path = write_manifest(root, echo=False, **manifest)
    code, out, err = run_cli("sync", path, "--target", "local", "--prune")
    assert code == 0, out + err
    return path


def test_wait_returns_once_every_polling_server_serves_the_sync(polling):
    root, servers = polling
    path = _publish(root, versions=(1,))
    code, out, err = run_cli("status", path, "--wait", "--timeout", "60",
                             "--triton-url", servers[0].http_url, "--triton-url", f"grpc://{servers[1].grpc_url}")
    assert code == 0, out + err
    assert f"converged Triton at http://{servers[0].http_url}: 1 model READY" in out
    assert "status: converged - 2 of 2 servers" in out
    for server in servers[:2]:
        status, index = server.post("/v2/repository/index", {"ready": True})
        assert [(m["name"], m["version"]) for m in index] == [("add", "1")]


def test_a_version_that_fails_to_load_is_reported_with_tritons_reason(polling):
    root, servers = polling
    path = _publish(root, versions=(1, 2), broken=(2,))
    code, out, _ = run_cli("status", path, "--wait", "--timeout", "20", "--triton-url", servers[0].http_url,
                           "--output", "json")
    assert code == 2
    report = json.loads(out)
    server, = report["servers"]
    assert not report["converged"] and not server["converged"]
    missing, = server["missing"]
    assert missing["model"] == "add" and missing["expected_versions"] == [2]
    assert "boom: the weights of this version are missing" in missing["reasons"]["2"]
    assert not server["stuck_poller"]  # it did poll: the failure is the news
    _publish(root, versions=(1,))  # back to the good state for the next test


def test_a_poller_that_does_not_take_the_change_is_named_with_the_remedy(polling):
    root, servers = polling
    path = write_manifest(root, echo=False, versions=(1,))
    code, out, _ = run_cli("status", path, "--wait", "--timeout", "3", "--triton-url", servers[2].http_url)
    assert code == 2
    assert "add: versions none READY, the manifest selects 1" in out
    assert "its repository index did not change at all while waiting" in out
    assert "restart the server" in out and "status: NOT converged - 0 of 1 server" in out

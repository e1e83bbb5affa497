"""rollout and status against a real `tritonserver --model-control-mode=explicit` reading a local
target that `triton-gitops sync` writes. One server for the module; the tests run in order
and each leaves the server in the state the next one starts from."""
import json
import re

import numpy as np
import pytest
import tritonclient.http as httpclient

from tests.helpers import run_cli
from tests.rollout.live import live_root, write_manifest
from tests.support.triton import TritonServer

pytestmark = pytest.mark.triton


class Live:
    def __init__(self, root, server):
        self.root, self.server = root, server

    def publish(self, **manifest) -> None:
        """Write the manifest and sync it to the target Triton reads (prune: versions leave too)."""
        path = write_manifest(self.root, **manifest)
        code, out, err = run_cli("sync", path, "--target", "local", "--prune")
        assert code == 0, out + err

    def cli(self, command, *args, url=None):
        return run_cli(command, self.root / "models.yaml", "--triton-url", url or self.server.http_url, *args)

    def ready(self) -> list:
        status, index = self.server.post("/v2/repository/index", {"ready": True})
        assert status == 200
        return sorted((m["name"], int(m["version"])) for m in index)

    def add(self, x=(1.0, 2.5)):
        client = httpclient.InferenceServerClient(self.server.http_url)
        tensor = httpclient.InferInput("X", [1, 2], "FP32")
        tensor.set_data_from_numpy(np.array([x], dtype=np.float32))
        return client.infer("add", [tensor]).as_numpy("Y")[0].tolist()

    def loads(self) -> int:
        return self.server.log_text().count("successfully loaded")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    root = live_root(tmp_path_factory, "rollout")
    with TritonServer(root / "target", "--model-control-mode=explicit", "--log-verbose=1", wait="live",
                      log_path=root / "triton.log") as server:
        yield Live(root, server)


def test_first_rollout_loads_every_model_and_status_is_in_sync(live):
    live.publish(versions=(1,))
    code, out, _ = live.cli("status")
    assert code == 2 and "missing add: not loaded" in out and "missing echo: not loaded" in out
    code, out, err = live.cli("rollout", "--target", "local")
    assert code == 0, out + err
    assert re.search(r"loaded +add: versions 1 READY", out) and re.search(r"loaded +echo: versions 1 READY", out)
    assert "rollout: 2 loaded, 0 unchanged, 0 failed, 0 unloaded" in out
    assert live.ready() == [("add", 1), ("echo", 1)]
    assert live.add() == [2.0, 3.5]
    code, out, _ = live.cli("status")
    assert code == 0 and "status: in sync - 2 models" in out


def test_rollout_with_nothing_changed_loads_nothing(live):
    before = live.loads()
    code, out, _ = live.cli("rollout")
    assert code == 0 and "rollout: 0 loaded, 2 unchanged, 0 failed, 0 unloaded" in out
    assert live.loads() == before  # Triton reloads on every load request, so none was sent


def test_new_version_becomes_ready_and_the_old_one_goes(live):
    live.publish(versions=(1, 2))
    code, out, _ = live.cli("status", "--output", "json")
    report = json.loads(out)
    assert code == 2 and [(d["model"], d["kind"]) for d in report["drift"]] == [("add", "versions")]
    code, out, _ = live.cli("rollout", "--target", "local")
    assert code == 0, out
    assert "serving versions 1, the manifest selects 2" in out
    assert "rollout: 1 loaded, 1 unchanged, 0 failed, 0 unloaded" in out
    assert live.ready() == [("add", 2), ("echo", 1)]  # latest 1: version 1 is unloaded
    assert live.add() == [3.0, 4.5]


def test_broken_version_reports_tritons_reason_and_the_previous_one_keeps_serving(live):
    live.publish(versions=(1, 2, 3), broken=(3,))
    code, out, _ = live.cli("rollout")
    assert code == 3  # a failed gate; nothing to put back: Triton kept version 2
    assert "kept add: its load failed; Triton kept serving it as before" in out
    assert re.search(r"failed +add \(", out)
    assert "version 3: Internal: RuntimeError: boom: the weights of this version are missing" in out
    assert "Triton keeps serving versions 2 of add" in out
    assert "rollout: 0 loaded, 1 unchanged, 1 failed, 0 unloaded - FAILED" in out
    assert live.ready() == [("add", 2), ("echo", 1)]
    assert live.add() == [3.0, 4.5]  # still answered by version 2
    code, out, _ = live.cli("status")
    assert code == 2 and "versions add: serving versions 2, the manifest selects 3" in out
    assert "version 3: Internal: RuntimeError: boom" in out
    # Taking the broken version out of git puts the server back in sync without a load.
    live.publish(versions=(1, 2))
    assert live.cli("status")[0] == 0


def test_status_reports_a_model_unloaded_by_hand_and_rollout_brings_it_back(live):
    assert live.server.post("/v2/repository/models/echo/unload")[0] == 200
    code, out, _ = live.cli("status", "--output", "json")
    assert code == 2
    assert [(d["model"], d["kind"]) for d in json.loads(out)["drift"]] == [("echo", "missing")]
    code, out, _ = live.cli("rollout")
    assert code == 0 and "rollout: 1 loaded, 1 unchanged, 0 failed, 0 unloaded" in out
    assert live.cli("status")[0] == 0


def test_config_change_and_removed_model_over_grpc(live):
    live.publish(versions=(1, 2), echo=False, delay=500)
    grpc = f"grpc://{live.server.grpc_url}"
    code, out, _ = live.cli("status", url=grpc)
    assert code == 2
    assert "config add: config differs in 1 field(s)" in out
    assert "dynamic_batching.max_queue_delay_microseconds: manifest 500, server 100" in out
    assert "extra echo: loaded (versions 1) but not in the manifest" in out
    code, out, _ = live.cli("rollout", "--output", "json", url=grpc)
    report = json.loads(out)
    assert code == 0 and report["ok"]
    assert [(m["model"], m["action"]) for m in report["models"]] == [("add", "loaded"), ("echo", "unloaded")]
    assert live.ready() == [("add", 2)]
    assert live.cli("status", url=grpc)[0] == 0


def test_smoke_and_perf_after_a_forced_reload(live):
    code, out, _ = live.cli("rollout", "--reload", "add", "--smoke", "--perf", "--duration", "0.5",
                            "--concurrency", "2", "--output", "json")
    assert code == 0, out
    report = json.loads(out)
    assert [(m["model"], m["action"], m["why"]) for m in report["models"]] == [("add", "loaded", ["forced"])]
    smoke, = report["smoke"]
    assert smoke["ok"] and smoke["inputs"] == [{"name": "X", "shape": [1, 2], "datatype": "FP32",
                                                "from": "warmup data"}]
    perf, = report["perf"]
    assert perf["requests"] > 0 and perf["errors"] == 0 and perf["tool"] == "tritonclient.http.aio"
    assert 0 < perf["p50_ms"] <= perf["p99_ms"] and perf["inferences_per_second"] > 0


def test_new_bytes_in_an_existing_version_are_rolled_out_with_target(live):
    live.publish(versions=(1, 2), echo=False, delay=500)
    assert live.cli("rollout", "--target", "local")[0] == 0  # the record now matches the target
    code, out, _ = live.cli("rollout", "--target", "local")
    assert code == 0 and "rollout: 0 loaded, 1 unchanged, 0 failed, 0 unloaded" in out
    # Same config, same versions, new code in version 2: only the files tell.
    source = live.root / "src" / "add2.py"
    source.write_text(source.read_text().replace("x + 2", "x + 20"))
    live.publish(versions=(1, 2), echo=False, delay=500)
    code, out, _ = live.cli("rollout", "--target", "local", "--output", "json")
    report = json.loads(out)
    assert code == 0 and [(m["model"], m["action"], m["why"]) for m in report["models"]] == [
        ("add", "loaded", ["files changed since the last rollout to this server"])]
    assert live.add() == [21.0, 22.5]
    code, out, _ = live.cli("rollout", "--target", "local")
    assert code == 0 and "rollout: 0 loaded, 1 unchanged" in out


def test_the_same_server_reached_by_another_url_is_not_reloaded(live):
    """One Triton, three spellings: the record knows it by what it says about itself."""
    live.publish(versions=(1, 2), echo=False, delay=500)
    assert live.cli("rollout", "--target", "local")[0] == 0
    before = live.loads()
    for url in (f"http://localhost:{live.server.http_port}", f"grpc://127.0.0.1:{live.server.grpc_port}",
                f"grpc://localhost:{live.server.grpc_port}"):
        code, out, err = live.cli("rollout", "--target", "local", url=url)
        assert code == 0 and "rollout: 0 loaded, 1 unchanged, 0 failed, 0 unloaded" in out, out + err
    assert live.loads() == before
    record = json.loads((live.root / "target" / ".triton-gitops-rollout.json").read_text())
    entry, = record["servers"]
    assert {f"http://127.0.0.1:{live.server.http_port}", f"grpc://127.0.0.1:{live.server.grpc_port}"} <= set(
        entry["addresses"])
    assert entry["name"] == "triton" and entry["version"]


def test_another_server_on_the_same_host_is_not_taken_for_the_known_one(live):
    """A second Triton reads the same target and is met over gRPC only: it has loaded nothing,
    so it says something else about itself than the known server, and gets everything."""
    with TritonServer(live.root / "target", "--model-control-mode=explicit", wait="live") as other:
        code, out, err = live.cli("rollout", "--target", "local", "--output", "json", url=f"grpc://{other.grpc_url}")
        assert code == 0, out + err
        report = json.loads(out)
        assert [(m["model"], m["action"]) for m in report["models"]] == [("add", "loaded")]
    record = json.loads((live.root / "target" / ".triton-gitops-rollout.json").read_text())
    assert len(record["servers"]) == 2
    code, out, _ = live.cli("rollout", "--target", "local")  # the first server is still known as itself
    assert code == 0 and "rollout: 0 loaded, 1 unchanged" in out


def test_rollout_with_target_reads_the_hash_index_once(live, monkeypatch):
    """The target check plans against the tree the command built, with the index it built it
    with: the manifest is loaded and its index read once before Triton is asked anything."""
    from compiler.artifacts.cache import Cache

    opened, read = [], []
    real_init, real_read = Cache.__init__, Cache._read_local
    monkeypatch.setattr(Cache, "__init__", lambda self, root: opened.append(root) or real_init(self, root))
    monkeypatch.setattr(Cache, "_read_local", lambda self: read.append(self.root) or real_read(self))
    code, out, err = live.cli("rollout", "--target", "local")
    assert code == 0 and "rollout: 0 loaded, 1 unchanged" in out, out + err
    assert len(opened) == 1 and read == opened

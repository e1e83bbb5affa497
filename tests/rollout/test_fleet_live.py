"""rollout and status over a fleet of three real tritonservers (EXPLICIT mode) on 127.0.0.1,
127.0.0.2 and 127.0.0.3, same ports, one shared local target, named by a real DNS server on
loopback (dns+http://fleet.test) or by the manifest target's `servers:`. The manifest lives
in a git repository: a rollback sends back the files of the previous revision.

The tests run in order; each leaves the fleet in the state the next one starts from."""
import json
import subprocess
import threading

import numpy as np
import pytest
import tritonclient.http as httpclient

from tests.helpers import run_cli
from tests.rollout.live import ADD_PY
from tests.support.dns_server import DnsServer
from tests.support.procs import free_port
from tests.support.triton import TritonServer, tritonserver_binary

pytestmark = pytest.mark.triton

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")

# Loads fine, answers nothing: every request fails (the smoke gate catches it).
FAILING_PY = """import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse(error=pb_utils.TritonError("version 2 cannot answer"))
                for _ in requests]
"""

# Passes the smoke request (zeros: the model has no warmup sample) but fails real traffic with large inputs:
# only the failure counter during the soak shows it. It raises: an error *response* from a python
# model is counted as a success by nv_inference_request_success (seen on 2.51), an exception is not.
FLAKY_PY = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            if float(x.max()) > 100:
                raise ValueError("input out of range")
            else:
                out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + 2).astype(np.float32))]))
        return out
"""

MANIFEST = """version: 1
defaults:
  backend: python
  instance_group: [{{kind: KIND_CPU, count: 1}}]
targets:
  local:
    url: target
    servers: [{servers}]
models:
  add:
    max_batch_size: 4
    input: [{{name: X, data_type: FP32, dims: [2]}}]
    output: [{{name: Y, data_type: FP32, dims: [2]}}]
    versions:
      {version}: {{source: src/{source}}}
"""


class Fleet:
    def __init__(self, root, servers, dns_server):
        self.root, self.servers, self.dns = root, servers, dns_server
        self.port = servers[0].http_port

    def git(self, *args) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                              cwd=self.root, check=True, capture_output=True, text=True).stdout.strip()

    def publish(self, version: int, source: str, message: str) -> None:
        """Commit the manifest with `add` at one version, and sync it (prune: the old one leaves)."""
        servers = ", ".join(f"http://{h}:{self.port}" for h in HOSTS)
        (self.root / "models.yaml").write_text(MANIFEST.format(servers=servers, version=version, source=source))
        self.git("add", "-A")
        self.git("commit", "-qm", message)
        code, out, err = run_cli("sync", self.root / "models.yaml", "--target", "local", "--prune")
        assert code == 0, out + err

    def cli(self, command, *args):
        return run_cli(command, self.root / "models.yaml", *args)

    def ready(self, server) -> list:
        status, index = server.post("/v2/repository/index", {"ready": True})
        assert status == 200
        return sorted((m["name"], int(m["version"])) for m in index)

    @staticmethod
    def add(server, x=(1.0, 2.5)):
        client = httpclient.InferenceServerClient(server.http_url)
        tensor = httpclient.InferInput("X", [1, 2], "FP32")
        tensor.set_data_from_numpy(np.array([x], dtype=np.float32))
        try:
            return client.infer("add", [tensor]).as_numpy("Y")[0].tolist()
        finally:
            client.close()

    @staticmethod
    def loads(server) -> int:
        return server.log_text().count("successfully loaded")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    root = tmp_path_factory.mktemp("fleet")
    (root / "src").mkdir()
    (root / "src" / "add1.py").write_text(ADD_PY.replace("{n}", "1"))
    (root / "src" / "failing.py").write_text(FAILING_PY)
    (root / "src" / "flaky.py").write_text(FLAKY_PY)
    (root / ".gitignore").write_text("target/\n*.log\n")
    (root / "target").mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    ports = (free_port(), free_port(), free_port())
    servers = [TritonServer(root / "target", "--model-control-mode=explicit", "--log-verbose=1", wait="live",
                            host=host, ports=ports, log_path=root / f"triton-{host}.log") for host in HOSTS]
    try:
        for server in servers:
            server.start()
        with DnsServer({"fleet.test": list(reversed(HOSTS))}) as dns_server:
            yield Fleet(root, servers, dns_server)
    finally:
        for server in servers:
            server.stop()


def test_a_dns_name_rolls_out_to_every_replica_canary_first(fleet):
    fleet.publish(1, "add1.py", "add v1")
    code, out, err = fleet.cli("rollout", "--target", "local", "--triton-url", f"dns+http://fleet.test:{fleet.port}",
                               "--nameserver", fleet.dns.address, "--canary", "1", "--max-unavailable", "2",
                               "--smoke", "--output", "json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["verdict"] == "rolled out" and report["ok"]
    # every address of the name is a replica; the canary alone, then the other two together
    assert [(r["url"], r["wave"], r["kind"]) for r in report["replicas"]] == [
        (f"http://127.0.0.1:{fleet.port}", 1, "canary"), (f"http://127.0.0.2:{fleet.port}", 2, "wave"),
        (f"http://127.0.0.3:{fleet.port}", 2, "wave")]
    for replica in report["replicas"]:
        assert [(m["model"], m["action"]) for m in replica["models"]] == [("add", "loaded")]
        assert [s["ok"] for s in replica["smoke"]] == [True]
    for server in fleet.servers:
        assert fleet.ready(server) == [("add", 1)]
        assert fleet.add(server) == [2.0, 3.5]


def test_status_checks_every_server_of_the_target_and_of_a_file(fleet):
    code, out, _ = fleet.cli("status", "--target", "local")
    assert code == 0 and "status: in sync on all 3 servers" in out
    assert out.count("status: in sync - 1 model served") == 3
    listing = fleet.root / "servers.txt"
    listing.write_text(f"# two of them\nhttp://127.0.0.2:{fleet.port}\nhttp://127.0.0.3:{fleet.port}\n")
    assert fleet.servers[2].post("/v2/repository/models/add/unload")[0] == 200
    code, out, _ = fleet.cli("status", "--servers-file", listing, "--triton-url", fleet.servers[0].http_url,
                             "--output", "json")
    report = json.loads(out)
    assert code == 2 and not report["in_sync"]
    assert [(s["triton_url"], s["in_sync"]) for s in report["servers"]] == [
        (f"http://127.0.0.1:{fleet.port}", True), (f"http://127.0.0.2:{fleet.port}", True),
        (f"http://127.0.0.3:{fleet.port}", False)]
    # rollout puts it back: only that replica loads
    before = [fleet.loads(s) for s in fleet.servers]
    code, out, _ = fleet.cli("rollout", "--target", "local", "--max-unavailable", "3")
    assert code == 0, out
    assert [fleet.loads(s) - b for s, b in zip(fleet.servers, before)] == [0, 0, 1]


def test_a_failing_smoke_rolls_the_canary_back_and_the_rest_never_change(fleet):
    fleet.publish(2, "failing.py", "add v2: cannot answer")
    before = [fleet.loads(s) for s in fleet.servers[1:]]
    code, out, err = fleet.cli("rollout", "--target", "local", "--smoke")
    assert code == 3, out + err
    assert "canary 1: Triton at http://127.0.0.1" in out
    assert "smoke FAILED add" in out and "version 2 cannot answer" in out
    assert "gate failed: add: smoke inference failed" in out
    assert "rollout: a gate failed; rolled back" in out
    assert "restored add: versions 1 from HEAD~1" in out
    assert f"not reached (unchanged): http://127.0.0.2:{fleet.port}, http://127.0.0.3:{fleet.port}" in out
    # the canary serves version 1 again, from the files of the previous revision (the target
    # no longer has them: the sync pruned version 1)
    assert not (fleet.root / "target" / "add" / "1").exists()
    assert fleet.ready(fleet.servers[0]) == [("add", 1)]
    assert fleet.add(fleet.servers[0]) == [2.0, 3.5]
    for server, loads in zip(fleet.servers[1:], before):
        assert fleet.loads(server) == loads and fleet.ready(server) == [("add", 1)]
    # the GitOps way out: revert the commit and sync; the fleet is in sync with main again
    fleet.git("revert", "--no-edit", "HEAD")
    assert run_cli("sync", fleet.root / "models.yaml", "--target", "local", "--prune")[0] == 0
    code, out, _ = fleet.cli("status", "--target", "local")
    assert code == 0, out


def test_failures_during_the_soak_roll_back_a_model_that_passed_its_smoke(fleet):
    fleet.publish(2, "flaky.py", "add v2: fails large inputs")
    canary = fleet.servers[0]
    stop = threading.Event()

    def traffic():  # real clients, some of them with inputs version 2 cannot take
        while not stop.is_set():
            try:
                fleet.add(canary, (1000.0, 1.0))
            except Exception:  # noqa: BLE001 - failing is what version 2 does with this input
                pass
            stop.wait(0.1)

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        code, out, err = fleet.cli("rollout", "--target", "local", "--smoke", "--soak", "3",
                                   "--metrics-port", str(canary.metrics_port), "--output", "json")
    finally:
        stop.set()
        sender.join()
    assert code == 3, out + err
    report = json.loads(out)
    first, = report["replicas"]
    assert [s["ok"] for s in first["smoke"]] == [True]  # the smoke request alone would have let it through
    assert any("failed requests (nv_inference_request_failure) during the 3 s soak" in f
               for f in first["gate_failures"])
    assert [(r["model"], r["action"]) for r in first["rollback"]] == [("add", "restored")]
    assert report["verdict"] == "rolled back" and len(report["not_reached"]) == 2
    assert fleet.ready(canary) == [("add", 1)] and fleet.add(canary, (1000.0, 1.0)) == [1001.0, 2.0]
    fleet.git("revert", "--no-edit", "HEAD")
    assert run_cli("sync", fleet.root / "models.yaml", "--target", "local", "--prune")[0] == 0


def test_a_rollback_without_the_previous_files_says_so_and_exits_4(fleet):
    fleet.publish(2, "failing.py", "add v2 again")
    # HEAD (version 2 only) cannot give back version 1, which the canary served
    code, out, err = fleet.cli("rollout", "--target", "local", "--smoke", "--rollback-to", "HEAD")
    assert code == 4, out + err
    assert "rollout: a gate failed; rollback failed" in out
    assert f"Triton at http://127.0.0.1:{fleet.port}: rollback failed" in out
    assert "not restored add: versions 1 of add are not in the manifest at HEAD" in out
    assert fleet.ready(fleet.servers[0]) == [("add", 2)]  # what it is left with, said above
    # the GitOps way out: revert, sync, roll out; only the canary needs a load
    fleet.git("revert", "--no-edit", "HEAD")
    assert run_cli("sync", fleet.root / "models.yaml", "--target", "local", "--prune")[0] == 0
    code, out, err = fleet.cli("rollout", "--target", "local", "--smoke", "--output", "json")
    assert code == 0, out + err
    assert [[m["action"] for m in r["models"]] for r in json.loads(out)["replicas"]] == [
        ["loaded"], ["unchanged"], ["unchanged"]]
    for server in fleet.servers:
        assert fleet.ready(server) == [("add", 1)] and fleet.add(server) == [2.0, 3.5]


def test_a_rollback_sends_back_only_the_files_the_record_says_the_server_ran(fleet):
    # B: the same version with edited files, synced but never rolled out; C: fails its smoke
    (fleet.root / "src" / "add1b.py").write_text(ADD_PY.replace("{n}", "1") + "# edited, never rolled out\n")
    fleet.publish(1, "add1b.py", "add v1: edited")
    fleet.publish(2, "failing.py", "add v2: cannot answer")
    code, out, err = fleet.cli("rollout", "--target", "local", "--smoke", "--rollback-to", "HEAD~2")
    assert code == 3, out + err  # the revision the record names for the canary: it runs that again
    assert "restored add: versions 1 from HEAD~2" in out
    assert fleet.ready(fleet.servers[0]) == [("add", 1)] and fleet.add(fleet.servers[0]) == [2.0, 3.5]
    code, out, err = fleet.cli("rollout", "--target", "local", "--smoke")
    assert code == 4, out + err  # HEAD~1 is B, which the canary never ran: nothing is sent
    assert "not restored add: the files of add at HEAD~1 are not the ones this server was last given" in out
    assert fleet.ready(fleet.servers[0]) == [("add", 2)]  # left as the failed load left it, and said so
    fleet.git("revert", "--no-edit", "HEAD", "HEAD~1")  # C, then B
    assert run_cli("sync", fleet.root / "models.yaml", "--target", "local", "--prune")[0] == 0
    code, out, err = fleet.cli("rollout", "--target", "local")
    assert code == 0, out + err
    assert all(fleet.ready(server) == [("add", 1)] for server in fleet.servers)

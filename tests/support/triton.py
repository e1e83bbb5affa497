"""Run a real `tritonserver` (shipped inside the nvidia-pytriton wheel) in tests.

The wheel carries a complete CPU-capable Triton build:

* binary:   <site-packages>/pytriton/tritonserver/bin/tritonserver
* backends: <site-packages>/pytriton/tritonserver/backends  (python backend only)
* libs:     <site-packages>/nvidia_pytriton.libs  (must be on LD_LIBRARY_PATH)

The python backend stub matching our interpreter is copied into
backends/python by scripts/bootstrap.sh; the stub embeds libpython and finds
its packages through the first `python3` on PATH, hence the venv bin dir goes
first on PATH.

Usage::

    with TritonServer(repo, "--model-control-mode=explicit", log_path=p) as srv:
        status, body = srv.get("/v2/models/m/ready")
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sysconfig
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .procs import free_port, spawn, stop_process, tail, wait_until

SHM_DIR = Path("/dev/shm")
SHM_PREFIX = "triton_python_backend_shm_region_"


def _site_packages() -> Path | None:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


def tritonserver_binary() -> Path | None:
    """Path of the tritonserver binary, or None when nvidia-pytriton is absent."""
    sp = _site_packages()
    if sp is None:
        return None
    binary = sp / "pytriton" / "tritonserver" / "bin" / "tritonserver"
    return binary if binary.is_file() and os.access(binary, os.X_OK) else None


def shm_segments() -> set[str]:
    try:
        return {p.name for p in SHM_DIR.iterdir() if p.name.startswith(SHM_PREFIX)}
    except OSError:
        return set()


def mapped_shm_segments() -> set[str]:
    """Names of /dev/shm files currently mapped by any live process.

    Used so that stopping one server never deletes a segment that another
    (concurrently running) server still uses.
    """
    mapped: set[str] = set()
    for maps in Path("/proc").glob("[0-9]*/maps"):
        try:
            text = maps.read_text()
        except OSError:  # process exited meanwhile, or not ours to read
            continue
        for line in text.splitlines():
            idx = line.find("/dev/shm/")
            if idx != -1:
                mapped.add(line[idx + len("/dev/shm/"):].split(" ")[0])
    return mapped


class TritonError(RuntimeError):
    pass


class TritonServer:
    """One tritonserver process on free loopback ports.

    `repository` is a local directory or a URL Triton understands
    (s3://host:port/bucket/prefix, gs://bucket/prefix, ...).
    `wait` is "ready" (GET /v2/health/ready == 200), "live" (use it when some
    models are expected to fail loading: ready then never becomes true) or
    None (return right after spawning).
    """

    def __init__(self, repository: str | os.PathLike, *extra_args: str,
                 env: dict[str, str] | None = None, log_path: str | os.PathLike | None = None,
                 wait: str | None = "ready", timeout: float = 60.0, host: str = "127.0.0.1",
                 ports: tuple | None = None, model_config_name: str = ""):
        sp = _site_packages()
        binary = tritonserver_binary()
        if sp is None or binary is None:
            raise TritonError("tritonserver is not installed (pip install nvidia-pytriton)")
        self.binary = binary
        self.site_packages = sp
        self.repository = str(repository)
        self.extra_args = [str(a) for a in extra_args]
        # `--model-config-name`: the server loads <model>/configs/<name>.pbtxt where it exists.
        self.model_config_name = model_config_name
        self.extra_env = dict(env or {})
        self.wait = wait
        self.timeout = timeout
        # Another loopback address (127.0.0.2, ...) and fixed (http, grpc, metrics) ports let
        # several servers answer one DNS name on the same ports, as pods behind a headless Service.
        self.host = host
        self.fixed_ports = ports
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self.proc = None
        self.http_port = self.grpc_port = self.metrics_port = None
        self._shm_before: set[str] = set()
        self._stopped = False

    # -- addresses -----------------------------------------------------------
    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"{self.host}:{self.metrics_port}"

    # -- lifecycle -------------------------------------------------------------
    def _command(self) -> list[str]:
        return [
            str(self.binary),
            f"--model-repository={self.repository}",
            f"--backend-directory={self.site_packages / 'pytriton' / 'tritonserver' / 'backends'}",
            # Loopback only: this machine must not listen on other interfaces.
            f"--http-address={self.host}",
            f"--grpc-address={self.host}",
            f"--metrics-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            *([f"--model-config-name={self.model_config_name}"] if self.model_config_name else []),
            *self.extra_args,
        ]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        libs = str(self.site_packages / "nvidia_pytriton.libs")
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (libs, env.get("LD_LIBRARY_PATH", "")) if p)
        # The python backend stub resolves its interpreter/packages via PATH.
        env["PATH"] = os.pathsep.join(
            p for p in (sysconfig.get_path("scripts"), env.get("PATH", "")) if p)
        env.update(self.extra_env)
        return env

    def start(self) -> TritonServer:
        # The ports are picked before Triton binds them; if another process
        # grabs one in between Triton exits with "address in use": retry then.
        for attempt in range(3):
            self.http_port, self.grpc_port, self.metrics_port = self.fixed_ports or (
                free_port(), free_port(), free_port())
            self._shm_before = shm_segments()
            with open(self.log_path, "ab") as log:
                log.write(f"\n=== start attempt {attempt + 1}: {' '.join(self._command())}\n"
                          .encode())
            self.proc = spawn(self._command(), self.log_path, env=self._environment())
            self._stopped = False
            try:
                self._wait_started()
                return self
            except TritonError:
                in_use = "address already in use" in tail(self.log_path).lower()
                self.stop()
                if not in_use or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _wait_started(self) -> None:
        if self.wait is None:
            return
        if self.wait not in ("ready", "live"):
            raise ValueError(f"wait must be 'ready', 'live' or None, not {self.wait!r}")
        path = f"/v2/health/{self.wait}"
        ok = wait_until(lambda: self._status(path) == 200, self.timeout, proc=self.proc)
        if not ok:
            state = (f"exited with code {self.proc.returncode}"
                     if self.proc.poll() is not None else
                     f"not {self.wait} after {self.timeout:.0f}s")
            raise TritonError(f"tritonserver {state}; log {self.log_path}:\n"
                              f"{tail(self.log_path)}")

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGINT (Triton unloads models and exits), SIGKILL the group after
        `grace` seconds, then remove python-backend shm segments it leaked."""
        if self.proc is None or self._stopped:
            return None if self.proc is None else self.proc.returncode
        self._stopped = True  # never signal a reaped pid (group) twice
        # SIGINT to the leader only: Triton tears down its stub processes itself.
        stop_process(self.proc, signal.SIGINT, grace=grace, group_first=False)
        leaked = (shm_segments() - self._shm_before) - mapped_shm_segments()
        for name in leaked:
            try:
                (SHM_DIR / name).unlink()
            except OSError:
                pass
        return self.proc.returncode

    def __enter__(self) -> TritonServer:
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- inspection ------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_log(self, needle: str, timeout: float = 30.0) -> bool:
        """True once `needle` appears in the log (e.g. a poll-mode reload)."""
        return wait_until(lambda: needle in self.log_text(), timeout)

    # -- HTTP helpers ------------------------------------------------------------
    def request(self, method: str, path: str, body=None, timeout: float = 30.0):
        """Return (status, parsed JSON body or text or None); never raises on HTTP errors."""
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://{self.http_url}{path}", data=data,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str, timeout: float = 30.0):
        return self.request("GET", path, timeout=timeout)

    def post(self, path: str, json_body=None, timeout: float = 60.0):
        return self.request("POST", path, body=json_body, timeout=timeout)

    def _status(self, path: str) -> int | None:
        try:
            return self.get(path, timeout=2)[0]
        except OSError:  # connection refused / reset while starting up
            return None

    def __repr__(self) -> str:
        return f"TritonServer(repository={self.repository!r}, http={self.http_url})"


def wait_model_ready(server: TritonServer, name: str, timeout: float = 30.0,
                     version: str | None = None) -> bool:
    path = f"/v2/models/{name}" + (f"/versions/{version}" if version else "") + "/ready"
    return wait_until(lambda: server._status(path) == 200, timeout)


# A minimal python-backend model (Y = X + 1, FP32, dims [2]) for smoke tests
# that need *some* loadable model without a framework backend.
ADD_ONE_CONFIG = """\
name: "{name}"
backend: "python"
max_batch_size: 0
input [ {{ name: "X", data_type: TYPE_FP32, dims: [ 2 ] }} ]
output [ {{ name: "Y", data_type: TYPE_FP32, dims: [ 2 ] }} ]
instance_group [ {{ kind: KIND_CPU, count: 1 }} ]
"""

ADD_ONE_MODEL_PY = """\
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            y = pb_utils.Tensor("Y", (x + 1).astype(np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[y]))
        return responses
"""


def write_add_one_model(repo: str | os.PathLike, name: str = "add_one",
                        version: int = 1) -> Path:
    """Write <repo>/<name>/{config.pbtxt,<version>/model.py}; return the model dir."""
    model_dir = Path(repo) / name
    (model_dir / str(version)).mkdir(parents=True, exist_ok=True)
    (model_dir / "config.pbtxt").write_text(ADD_ONE_CONFIG.format(name=name))
    (model_dir / str(version) / "model.py").write_text(ADD_ONE_MODEL_PY)
    return model_dir


def infer_add_one(server: TritonServer, name: str = "add_one", x=(1.0, 2.5)):
    """HTTP/JSON inference against an add_one model; returns (status, Y list or body)."""
    status, body = server.post(f"/v2/models/{name}/infer", {
        "inputs": [{"name": "X", "shape": [2], "datatype": "FP32", "data": list(x)}],
        "outputs": [{"name": "Y"}],
    })
    if status != 200:
        return status, body
    out = {o["name"]: o for o in body["outputs"]}
    return status, out["Y"]["data"]


__all__ = [
    "TritonError",
    "TritonServer",
    "infer_add_one",
    "mapped_shm_segments",
    "shm_segments",
    "tritonserver_binary",
    "wait_model_ready",
    "write_add_one_model",
]

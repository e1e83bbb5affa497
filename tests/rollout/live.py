"""A small manifest for live rollout tests: two python models, each an easily checked
function of its input, with versions to add, break and remove between steps."""
from __future__ import annotations

from pathlib import Path

ADD_PY = """import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("Y", (x + {n}).astype(np.float32))]))
        return out
"""

BROKEN_PY = """class TritonPythonModel:
    def initialize(self, args):
        raise RuntimeError("boom: the weights of this version are missing")

    def execute(self, requests):
        return []
"""

ADD_ENTRY = """  add:
    max_batch_size: 4
    input: [{{name: X, data_type: FP32, dims: [2]}}]
    output: [{{name: Y, data_type: FP32, dims: [2]}}]
    dynamic_batching: {{max_queue_delay_microseconds: {delay}}}
    model_warmup:
      - {{name: twos, batch_size: 1, inputs: {{X: {{data_type: FP32, dims: [2], data: [2, 2]}}}}}}
    versions:
{versions}
"""

ECHO_ENTRY = """  echo:
    input: [{name: X, data_type: FP32, dims: [-1]}]
    output: [{name: Y, data_type: FP32, dims: [-1]}]
    versions: {1: {source: src/echo.py}}
"""

HEADER = """version: 1
defaults:
  backend: python
  max_batch_size: 0
  instance_group: [{{kind: KIND_CPU, count: 1}}]
targets:
  local: {{url: target}}
{extra_targets}models:
"""


def live_root(tmp_path_factory, name: str) -> Path:
    """A folder for a module's live servers: the model sources written, an empty `target/` for
    them to serve; the module is skipped when no tritonserver is installed."""
    import pytest

    from tests.support.triton import tritonserver_binary

    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    root = tmp_path_factory.mktemp(name)
    write_sources(root)
    (root / "target").mkdir()
    return root


def write_sources(root: Path) -> None:
    (root / "src").mkdir(parents=True, exist_ok=True)
    for n in (1, 2, 3):
        (root / "src" / f"add{n}.py").write_text(ADD_PY.replace("{n}", str(n)))
    (root / "src" / "broken.py").write_text(BROKEN_PY)
    (root / "src" / "echo.py").write_text(ADD_PY.replace("{n}", "0"))


def write_manifest(root: Path, versions=(1,), broken=(), echo=True, delay=100, extra_targets="") -> Path:
    """models.yaml with `add` at the given versions (a version in `broken` raises at load)."""
    lines = "\n".join(f"      {v}: {{source: src/{'broken' if v in broken else f'add{v}'}.py}}" for v in versions)
    text = HEADER.format(extra_targets=extra_targets) + ADD_ENTRY.format(versions=lines, delay=delay)
    if echo:
        text += ECHO_ENTRY
    path = root / "models.yaml"
    path.write_text(text)
    return path


def infer_add(server, x=(1.0, 2.0)):
    """(status, Y) of one request to `add` (batching: shape [1, 2]) over HTTP/JSON."""
    status, body = server.post("/v2/models/add/infer", {
        "inputs": [{"name": "X", "shape": [1, 2], "datatype": "FP32", "data": list(x)}]})
    return (status, body["outputs"][0]["data"]) if status == 200 else (status, body)

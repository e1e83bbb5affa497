"""Small manifests with one model whose versions point at given sources."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

ONNX_MODEL = {
    "backend": "onnxruntime", "max_batch_size": 0,
    "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
    "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(folder: Path, versions: dict, model: dict | None = None, targets: dict | None = None, name="m") -> Path:
    """versions: {N: source string or {source:, sha256:, storage_options:}}."""
    entry = dict(model or ONNX_MODEL)
    entry["versions"] = {n: (v if isinstance(v, dict) else {"source": v}) for n, v in versions.items()}
    data = {"version": 1, "models": {name: entry}}
    if targets:
        data["targets"] = targets
    path = folder / "models.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    # JSON is YAML; yaml.safe_dump keeps the integer version keys readable in failures.
    path.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
    return path


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

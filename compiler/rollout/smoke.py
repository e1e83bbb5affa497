"""One inference per changed model, right after it loads: the cheapest proof that the model
not only loaded but answers.

The request is built from what the manifest already says about the model: its first warmup
sample when it has one (literal `data:`, a `file:`, `zero_data` or `random_data`), zeros of
the declared shape otherwise (-1 dimensions become 1; a batching model gets a batch of 1).
Sequence models get a one-request sequence; decoupled models are skipped (they answer
through a stream, not one response).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tritonclient.utils import deserialize_bytes_tensor, triton_to_np_dtype

from compiler.compile.warmup_data import encode
from compiler.proto import DataType
from compiler.rollout.client import TritonError

_SEQUENCE_ID = 1


@dataclass
class SmokeResult:
    name: str
    ok: bool
    detail: str
    inputs: list = field(default_factory=list)  # [(name, shape, datatype, source)]
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"model": self.name, "ok": self.ok, "detail": self.detail, "seconds": round(self.seconds, 3),
                "inputs": [{"name": n, "shape": s, "datatype": d, "from": f} for n, s, d, f in self.inputs]}


def triton_datatype(data_type: int) -> str:
    name = DataType.Name(data_type)[len("TYPE_"):]
    return "BYTES" if name == "STRING" else name


def _warmup_arrays(model, root) -> dict:
    """input name -> (array without the batch dimension, where it came from), from the first sample."""
    if not model.config.model_warmup:
        return {}
    sample = model.config.model_warmup[0]
    literal = {w.path[-1]: w for w in model.warmups if len(w.path) >= 4 and w.path[-4:-2] == ("model_warmup", 0)}
    out = {}
    for name, spec in sample.inputs.items():
        dims = [int(d) for d in spec.dims]
        datatype = triton_datatype(spec.data_type)
        source = literal.get(name)
        if source is not None and source.data is not None:
            raw, problems = encode(source.data_type, source.dims, source.data, ())
            if not problems:
                out[name] = (_from_raw(raw, datatype, dims), "warmup data")
        elif source is not None and source.source:
            raw = (root / source.source).read_bytes()
            out[name] = (_from_raw(raw, datatype, dims), f"warmup file {source.source}")
        elif spec.WhichOneof("input_data_type") == "random_data":
            out[name] = (_zeros(datatype, dims, random=True), "warmup random_data")
        elif spec.WhichOneof("input_data_type") == "zero_data":
            out[name] = (_zeros(datatype, dims), "warmup zero_data")
    return {k: v for k, v in out.items() if v[0] is not None}


def _from_raw(raw: bytes, datatype: str, dims: list):
    if datatype == "BYTES":
        return deserialize_bytes_tensor(raw).reshape(dims)
    dtype = triton_to_np_dtype(datatype)
    return np.frombuffer(raw, dtype=dtype).reshape(dims).copy() if dtype is not None else None


def _zeros(datatype: str, dims: list, random: bool = False):
    if datatype == "BYTES":
        return np.array([b"" for _ in range(int(np.prod(dims)))], dtype=object).reshape(dims)
    dtype = triton_to_np_dtype(datatype)
    if random:
        return np.random.default_rng(0).random(dims).astype(dtype)
    return np.zeros(dims, dtype=dtype)


def request_inputs(model, root) -> list:
    """[(name, array, datatype, where the data came from)] for one request."""
    from_warmup = _warmup_arrays(model, root)
    batching = model.config.max_batch_size > 0
    inputs = []
    for spec in model.config.input:
        if spec.optional and spec.name not in from_warmup:
            continue
        datatype = triton_datatype(spec.data_type)
        if spec.name in from_warmup:
            array, source = from_warmup[spec.name]
        else:
            dims = [1 if d < 0 else int(d) for d in spec.dims]
            array, source = _zeros(datatype, dims), "zeros"
        if batching:
            array = np.expand_dims(array, 0)
        inputs.append((spec.name, array, datatype, source))
    return inputs


def smoke(model, client, root) -> SmokeResult:
    """`root`: the manifest's folder, which warmup `file:` paths are relative to."""
    started = time.monotonic()
    if model.config.model_transaction_policy.decoupled:
        return SmokeResult(model.name, True, "skipped: decoupled models answer through a stream")
    try:
        inputs = request_inputs(model, root)
    except (OSError, ValueError) as exc:
        return SmokeResult(model.name, False, f"cannot build the request: {exc}")
    described = [(n, list(a.shape), d, s) for n, a, d, s in inputs]
    sequence = {}
    if model.config.HasField("sequence_batching"):
        sequence = {"sequence_id": _SEQUENCE_ID, "sequence_start": True, "sequence_end": True}
    outputs = [o.name for o in model.config.output]
    try:
        result = client.infer(model.name, [(n, a, d) for n, a, d, _ in inputs], outputs, **sequence)
    except TritonError as exc:
        return SmokeResult(model.name, False, exc.message, described, time.monotonic() - started)
    shapes = ", ".join(f"{k} {list(v.shape) if v is not None else 'missing'}" for k, v in result.items())
    missing = [k for k, v in result.items() if v is None]
    ok = not missing
    detail = f"answered: {shapes}" if ok else f"no data for output(s) {', '.join(missing)}"
    return SmokeResult(model.name, ok, detail, described, time.monotonic() - started)

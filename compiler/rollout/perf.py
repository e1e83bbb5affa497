"""A short load test of each changed model: N requests in flight for S seconds, reported as
p50/p99 latency and inferences per second.

With NVIDIA's `perf_analyzer` on PATH (Triton's SDK image ships it; the PyPI package of that
name is an empty placeholder) it does the measuring and its CSV report is summarised.
Otherwise tritonclient's asyncio clients keep `concurrency` requests in flight from one
thread, which is enough to see a model that loads but cannot keep up. Requests are the same
as the smoke test's (smoke.py); one untimed request goes first so a lazy first call does not
count.
"""
from __future__ import annotations

import asyncio
import csv
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tritonclient.utils import InferenceServerException

from compiler.rollout.smoke import request_inputs


@dataclass
class PerfResult:
    name: str
    tool: str
    concurrency: int
    seconds: float
    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    per_second: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.errors == 0

    def as_dict(self) -> dict:
        return {"model": self.name, "tool": self.tool, "concurrency": self.concurrency,
                "seconds": round(self.seconds, 3), "requests": self.requests, "errors": self.errors,
                "p50_ms": round(self.p50_ms, 3), "p99_ms": round(self.p99_ms, 3),
                "inferences_per_second": round(self.per_second, 2), "detail": self.detail}


def percentile(values: list, fraction: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return 0.0
    return values[max(0, min(len(values) - 1, math.ceil(fraction * len(values)) - 1))]


def _aio_module(endpoint):
    if endpoint.protocol == "grpc":
        import tritonclient.grpc.aio as module  # noqa: PLC0415 - tritonclient aio ~50-290 ms: the URL's protocol only
    else:
        import tritonclient.http.aio as module  # noqa: PLC0415 - tritonclient aio ~50-290 ms: the URL's protocol only
    return module


async def _measure(endpoint, model, inputs, concurrency: int, duration: float) -> PerfResult:
    module = _aio_module(endpoint)
    client = module.InferenceServerClient(endpoint.address, ssl=endpoint.ssl)
    tensors = []
    for name, array, datatype, _ in inputs:
        tensor = module.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    options = {}
    if model.config.HasField("sequence_batching"):
        options = {"sequence_id": 1, "sequence_start": True, "sequence_end": True}
    result = PerfResult(model.name, f"tritonclient.{endpoint.protocol}.aio", concurrency, duration)
    latencies: list = []
    first_error = ""
    try:
        await client.infer(model.name, tensors, **options)  # untimed: first calls pay for lazy set-up
        deadline = time.perf_counter() + duration

        async def worker(index: int) -> None:
            nonlocal first_error
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    # Each worker is its own sequence, so sequence models get concurrent sequences.
                    await client.infer(model.name, tensors, **(dict(options, sequence_id=index + 1) if options else {}))
                    latencies.append(time.perf_counter() - started)
                except InferenceServerException as exc:
                    result.errors += 1
                    first_error = first_error or str(exc)

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        result.seconds = time.perf_counter() - began
    except InferenceServerException as exc:
        result.errors += 1
        first_error = str(exc)
    finally:
        await client.close()
    latencies.sort()
    result.requests = len(latencies)
    result.p50_ms = percentile(latencies, 0.50) * 1000
    result.p99_ms = percentile(latencies, 0.99) * 1000
    result.per_second = len(latencies) / result.seconds if result.seconds else 0.0
    result.detail = first_error
    return result


def _perf_analyzer(binary: str, endpoint, model, inputs, concurrency: int, duration: float) -> PerfResult:
    """Run NVIDIA's perf_analyzer and summarise its CSV (latencies there are in microseconds)."""
    result = PerfResult(model.name, "perf_analyzer", concurrency, duration)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "perf.csv"
        command = [binary, "-m", model.name, "-u", endpoint.address, "-i", endpoint.protocol,
                   "--concurrency-range", f"{concurrency}:{concurrency}",
                   "--measurement-interval", str(max(1000, int(duration * 1000))), "-f", str(report)]
        for name, array, _, _ in inputs:
            shape = array.shape[1:] if model.config.max_batch_size > 0 else array.shape
            command += ["--shape", f"{name}:{','.join(str(d) for d in shape)}"]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=max(120.0, duration * 20))
        except subprocess.TimeoutExpired:
            result.errors, result.detail = 1, "perf_analyzer did not finish"
            return result
        if run.returncode != 0 or not report.is_file():
            result.errors = 1
            result.detail = ((run.stderr or run.stdout).strip().splitlines()[-1:] or [f"exit {run.returncode}"])[0]
            return result
        rows = list(csv.DictReader(report.open()))
    if not rows:
        result.errors, result.detail = 1, "perf_analyzer wrote an empty report"
        return result
    row = rows[-1]
    result.per_second = float(row.get("Inferences/Second") or 0)
    result.p50_ms = float(row.get("p50 latency") or 0) / 1000
    result.p99_ms = float(row.get("p99 latency") or 0) / 1000
    result.requests = int(result.per_second * duration)
    return result


def measure(model, endpoint, root, concurrency: int, duration: float) -> PerfResult:
    inputs = request_inputs(model, root)
    binary = shutil.which("perf_analyzer")
    if binary:
        return _perf_analyzer(binary, endpoint, model, inputs, concurrency, duration)
    return asyncio.run(_measure(endpoint, model, inputs, concurrency, duration))

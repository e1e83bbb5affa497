"""Fill in what Triton's ONNX Runtime auto-complete would, for an imported model that relies on
it: a config (or no config at all) without `input` or `output`, whose version folder holds the
ONNX graph. The manifest must be complete, so import writes out what the server would have made
of it (onnxruntime_backend's AutoCompleteMaxBatch and AutoCompleteIO):

- batching: when every graph input and output has a dynamic first dimension and the config has
  no max_batch_size, Triton sets it to the server's default-max-batch-size (4 unless the
  server is started with another) and, above 1, adds an empty dynamic_batching;
- each missing tensor list gets the graph's names, data types and dims (the batch dimension
  left out when max_batch_size > 0; a scalar becomes dims [1] with an empty reshape).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from compiler.errors import WARNING, Problem
from compiler.notes import Note
from compiler.rules.onnx_model import read_graph

DEFAULT_MAX_BATCH_SIZE = 4  # tritonserver --backend-config=default-max-batch-size


def _graph(repo, path):
    """(inputs, outputs) of the ONNX file at `path` in the repository, a Note saying why the
    graph could not be read, or None (not copied here)."""
    if repo.local:
        return read_graph(Path(path))
    with tempfile.TemporaryDirectory(prefix="triton-gitops-onnx-") as tmp:
        local = os.path.join(tmp, "model.onnx")
        try:
            repo.fs.get_file(path, local)
        except OSError:
            return None
        return read_graph(Path(local))


def _tensors(tensors, max_batch_size) -> list:
    out = []
    for tensor in tensors:
        dims = tensor.dims[1:] if max_batch_size > 0 else list(tensor.dims)
        entry = {"name": tensor.name, "data_type": tensor.data_type.removeprefix("TYPE_"), "dims": dims}
        if not dims:
            entry["dims"] = [1]
            if max_batch_size > 0:
                entry["reshape"] = {"shape": []}
        out.append(entry)
    return out


def complete(entry: dict, model, repo, problems, display, notes: list) -> bool:
    """Fill `entry`'s missing input/output from the graph of its latest version; True if it did.
    A graph that cannot be read adds a Note to `notes` (for the command to show)."""
    if entry.get("input") and entry.get("output"):
        return False
    filename = entry.get("default_model_filename") or "model.onnx"
    path = None
    for version in sorted(model.versions, reverse=True):
        candidate = model.contents.get(f"{version}/{filename}")
        if candidate is not None:
            path, used = candidate, version
            break
    if path is None:
        return False
    graph = _graph(repo, path)
    if isinstance(graph, Note):
        notes.append(graph)
        return False
    if graph is None:
        return False
    inputs, outputs = graph
    if any(not t.data_type for t in inputs + outputs):
        return False  # a sequence or map tensor: leave it to the server
    batching = all(t.dims and t.dims[0] == -1 for t in inputs + outputs)
    filled = []
    if batching and not entry.get("max_batch_size"):
        entry["max_batch_size"] = DEFAULT_MAX_BATCH_SIZE
        filled.append(f"max_batch_size {DEFAULT_MAX_BATCH_SIZE}")
        if "sequence_batching" not in entry and "dynamic_batching" not in entry:
            entry["dynamic_batching"] = {}
    max_batch_size = entry.get("max_batch_size", 0) if batching else 0
    for key, tensors in (("input", inputs), ("output", outputs)):
        if not entry.get(key):
            entry[key] = _tensors(tensors, max_batch_size)
            filled.append(key)
    problems.append(Problem(f"model {model.name!r} relies on auto-complete: {', '.join(filled)} filled in from the "
                            f"ONNX graph in version {used}", "import-onnx-autocomplete", (), WARNING, display,
                            hint="check them against GET v2/models/<name>/config of a server that loaded it (a "
                                 "server started with another default-max-batch-size fills a different one)"))
    return True

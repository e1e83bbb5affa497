"""model_warmup samples (Triton's TritonModelInstance::GenerateWarmupData and the request checks
each sample then goes through): batch size, inputs named and typed as the model expects,
concrete shapes, a data source, and data files present under warmup/."""
from __future__ import annotations

import os
import posixpath

from compiler.rules.base import (
    ENSEMBLE,
    WILDCARD,
    control_types,
    dims_text,
    error,
    model_name,
    suggest,
    triton_type,
    warning,
)


def _batch_size(sample, config, path) -> list:
    label = f"warmup sample '{sample.name}'"
    if sample.batch_size == 0:
        return [warning("warmup-batch-size", f"{label} has batch_size 0; Triton skips it (\"Skipping batch 0 warmup "
                        "sample\")", path + ("batch_size",), hint="set batch_size: 1 (it must be >= 1)")]
    if config.max_batch_size == 0 and sample.batch_size > 1:
        return [error("warmup-batch-size", f"{label} has batch_size {sample.batch_size}, but for models that don't "
                      "support batching (max_batch_size 0) batch_size must be 1", path + ("batch_size",),
                      hint="set batch_size: 1")]
    if 0 < config.max_batch_size < sample.batch_size:
        # Triton 2.51 fails the load ("batch size N for '<instance>', max allowed is M") or, with some
        # configs, crashes the whole server (SIGSEGV) while running the sample (tests/judge).
        return [error("warmup-batch-size", f"{label} has batch_size {sample.batch_size}, larger than max_batch_size "
                      f"{config.max_batch_size}: Triton fails the load (\"max allowed is {config.max_batch_size}\") "
                      "or crashes the server while running the sample", path + ("batch_size",),
                      hint=f"keep batch_size within 1..{config.max_batch_size}")]
    return []


def _input(sample, key, wi, config, ctx, path, inputs, controls) -> list:
    out = []
    label = f"warmup sample '{sample.name}'"
    name = model_name(config, ctx)
    if key not in inputs and key not in controls:
        # Triton 2.51 loads the model and runs the sample (tests/judge); the data goes nowhere.
        return [warning("warmup-unknown-input", f"{label} names input '{key}', which is not a model input, a "
                        "sequence control or state input, or a batch input; Triton loads the model and feeds it to "
                        "nothing", path, hint=suggest(key, set(inputs) | set(controls))
                        or f"model inputs: {', '.join(sorted(inputs)) or 'none'}")]
    expected = inputs[key].data_type if key in inputs else controls[key]
    if expected and wi.data_type != expected:
        out.append(error("warmup-data-type", f"{label}: inference input '{key}' data-type is "
                         f"'{triton_type(wi.data_type)}', but model '{name}' expects '{triton_type(expected)}'",
                         path + ("data_type",), hint=f"set `data_type: TYPE_{triton_type(expected)}`".replace(
                             "TYPE_BYTES", "TYPE_STRING")))
    for j, d in enumerate(wi.dims):
        if d == WILDCARD or d < 0:
            out.append(error("warmup-dims", "warmup setting expects all variable-size dimensions are specified for "
                             f"input '{key}'", path + ("dims", j), hint="give a concrete size for every dimension"))
            break
    else:
        if key in inputs and inputs[key].dims and not inputs[key].is_shape_tensor:
            model_dims = list(inputs[key].dims)
            if len(model_dims) != len(wi.dims) or any(m != WILDCARD and m != d for m, d in zip(model_dims, wi.dims)):
                out.append(error("warmup-dims", f"{label}: unexpected shape for input '{key}' for model '{name}'. "
                                 f"Expected {dims_text(model_dims)}, got {dims_text(wi.dims)}", path + ("dims",),
                                 hint="warmup dims are the input's dims without the batch dimension"))
    which = wi.WhichOneof("input_data_type")
    if which is None:
        out.append(error("warmup-data", f"warmup setting expects input '{key}' to have input_data_type set", path,
                         hint="set `zero_data: true`, `random_data: true` or `input_data_file: \"...\"`"))
    elif which == "input_data_file":
        file = posixpath.normpath("warmup/" + wi.input_data_file)
        if not file.startswith("warmup/") or posixpath.isabs(wi.input_data_file):
            out.append(error("warmup-data-file", f"warmup data file '{wi.input_data_file}' is outside the model's "
                             "warmup/ folder", path + ("input_data_file",), hint="name a file inside <model>/warmup/"))
        elif ctx.files is not None and file not in ctx.files:
            out.append(error("warmup-data-file", f"warmup data file '{file}' does not exist in the model folder",
                             path + ("input_data_file",), hint="Triton reads it from <model>/warmup/<input_data_file>"))
        else:
            out.extend(_data_file_size(wi, file, ctx, path + ("input_data_file",)))
    return out


# Bytes per element of the fixed-size data types (TYPE_STRING has no fixed size).
_TYPE_BYTES = {"BOOL": 1, "UINT8": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FP16": 2, "BF16": 2, "UINT32": 4,
               "INT32": 4, "FP32": 4, "UINT64": 8, "INT64": 8, "FP64": 8}


def _data_file_size(wi, file, ctx, path) -> list:
    """A data file shorter than its dims need is refused by Triton 2.51 ("warmup setting expects N
    bytes, but the data provided from <file> only has M bytes"); a longer one is fine (tests/judge)."""
    size_of = _TYPE_BYTES.get(triton_type(wi.data_type)) if wi.data_type else None
    local = ctx.model_folder.model_file(file) if ctx.model_folder is not None else None
    if local is None or size_of is None or any(d < 0 for d in wi.dims):
        return []
    try:
        have = os.path.getsize(local)
    except OSError:
        return []
    need = size_of
    for d in wi.dims:
        need *= d
    if have >= need:
        return []
    return [error("warmup-data-size", f"warmup setting expects {need} bytes, but the data provided from "
                  f"{file.removeprefix('warmup/')} only has {have} bytes", path,
                  hint=f"dims {dims_text(wi.dims)} of {triton_type(wi.data_type)} need {need} bytes (one sample, "
                       "without the batch dimension); write a longer file or make the dims smaller")]


def check(config, ctx) -> list:
    if config.platform == ENSEMBLE:
        return []  # reported by the ensemble rules
    out = []
    inputs = {io.name: io for io in config.input}
    controls = control_types(config)
    if config.HasField("sequence_batching"):
        for st in config.sequence_batching.state:
            controls.setdefault(st.input_name, st.data_type)
    for bi in config.batch_input:  # inputs the backend computes; a sample may still carry them
        for target in bi.target_name:
            controls.setdefault(target, bi.data_type)
    for w, sample in enumerate(config.model_warmup):
        path = ("model_warmup", w)
        out.extend(_batch_size(sample, config, path))
        for key in sorted(sample.inputs):
            out.extend(_input(sample, key, sample.inputs[key], config, ctx, path + ("inputs", key), inputs, controls))
        missing = [n for n, io in inputs.items() if not io.optional and n not in sample.inputs]
        if missing and inputs:
            out.append(error("warmup-missing-input", f"warmup sample '{sample.name}' is missing required input(s) "
                             f"{missing}", path + ("inputs",),
                             hint="a warmup request, like any request, must provide every non-optional input"))
    return out

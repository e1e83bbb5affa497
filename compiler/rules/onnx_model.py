"""ONNX Runtime models: the config's inputs and outputs against the graph in the version folder.

What the onnxruntime backend checks when it loads a model (ValidateInputs / ValidateOutputs and
CompareDimsSupported in onnxruntime_backend), offline, with the `onnx` package reading the graph
(no onnxruntime needed):
- the graph's inputs (initializers excluded) number as many as the config's inputs, batch
  inputs, sequence control tensors and states together;
- every config input/output is a graph input/output ("unexpected inference input 'X', allowed
  inputs are: ...");
- data types match ("configuration expects datatype TYPE_FP32 for input 'X', model provides
  TYPE_INT64");
- shapes: with max_batch_size > 0 the graph's first dimension must be dynamic and the rest is
  compared with the config's dims (or reshape); without batching, dims are compared as they are.
  A dynamic graph dimension matches any input dim; outputs must match exactly.
Inputs or outputs the config leaves out entirely are filled by Triton's auto-complete from the
same graph, so then there is nothing to compare. Without the `onnx` package (the `[onnx]`
extra) the check is skipped, with a note (a `Note` among the findings, which the command shows). Only the graph's inputs, outputs and initializer
names are read (the file is mapped and walked at protobuf's wire level), so a multi-GB model costs
no more than a small one.
"""
from __future__ import annotations

import mmap
import os

from compiler.notes import Note
from compiler.rules.base import error, resolve_backend, type_name
from compiler.rules.versions import versions_to_load
from compiler.storage.lfs_pointer import pointer_size

# onnx.TensorProto.DataType -> Triton's TYPE_* name
ONNX_TYPES = {1: "TYPE_FP32", 2: "TYPE_UINT8", 3: "TYPE_INT8", 4: "TYPE_UINT16", 5: "TYPE_INT16", 6: "TYPE_INT32",
              7: "TYPE_INT64", 8: "TYPE_STRING", 9: "TYPE_BOOL", 10: "TYPE_FP16", 11: "TYPE_FP64",
              12: "TYPE_UINT32", 13: "TYPE_UINT64", 16: "TYPE_BF16"}


LFS_POINTER = "onnx-lfs-pointer"  # the file is a Git LFS pointer: the artifacts stage reports it, located
NO_ONNX = Note("onnx", "the onnx package is not installed: ONNX graph checks are skipped "
                      "(pip install 'triton-gitops[onnx]')")


def _onnx():
    try:
        import onnx  # noqa: PLC0415 - optional extra (onnx ~220 ms): only an ONNX model file
    except ImportError:
        return None
    return onnx


class Tensor:
    def __init__(self, name: str, data_type: str, dims: list):
        self.name, self.data_type, self.dims = name, data_type, dims


def _tensor(value_info) -> Tensor:
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return Tensor(value_info.name, "", [])
    tensor = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
    return Tensor(value_info.name, ONNX_TYPES.get(tensor.elem_type, ""), dims)


class _NotOnnx(ValueError):
    pass


def _varint(buf, pos: int) -> tuple:
    value, shift = 0, 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _NotOnnx("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int, end: int):
    """(field number, wire type, value or (begin, end) of a length-delimited field) over buf[start:end]:
    protobuf's wire format, walked without copying, so weights are skipped rather than read."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _NotOnnx("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise _NotOnnx("field runs past its message")
            yield number, wire, (pos, pos + length)
            pos += length
        else:
            raise _NotOnnx(f"wire type {wire}")
        if pos > end:
            raise _NotOnnx("truncated field")


def _name_of(buf, span, field: int) -> str:
    for number, wire, value in _fields(buf, *span):
        if number == field and wire == 2:
            return bytes(buf[value[0]:value[1]]).decode("utf-8", "replace")
    return ""


def _scan(buf) -> tuple:
    """(input spans, output spans, initializer names) of ModelProto bytes: where graph.input and
    graph.output (ValueInfoProto) are, and the initializers' names; nothing else is read."""
    ir_version, graph = 0, None
    for number, wire, value in _fields(buf, 0, len(buf)):
        if number == 1 and wire == 0:
            ir_version = value
        elif number == 7 and wire == 2:
            graph = value
    if not ir_version or graph is None:
        raise _NotOnnx("no IR version or no graph")
    inputs: list = []
    outputs: list = []
    initializers: set = set()
    for number, wire, value in _fields(buf, *graph):
        if wire != 2:
            continue
        if number in (11, 12):  # input, output
            (inputs if number == 11 else outputs).append(bytes(buf[value[0]:value[1]]))
        elif number == 5:  # initializer: TensorProto, name is field 8
            initializers.add(_name_of(buf, value, 8))
        elif number == 15:  # sparse_initializer: SparseTensorProto.values (1) is a TensorProto
            for inner, inner_wire, span in _fields(buf, *value):
                if inner == 1 and inner_wire == 2:
                    initializers.add(_name_of(buf, span, 8))
    return inputs, outputs, initializers


def _unreadable(path, why: str) -> Note:
    return Note("onnx-read", f"{path} is not readable as ONNX ({why}): its graph is not checked (nor that of any "
                             "other such file this run)")


def read_graph(path):
    """(inputs, outputs) as Tensor lists, or a Note saying why not (no onnx package, unreadable,
    not ONNX). The file is mapped, not read: a graph's weights are skipped, whatever the model's
    size; the onnx package (slow to import) is only loaded for a file that is ONNX."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise _NotOnnx("empty file")
            if pointer_size(path, size) is not None:
                return Note(LFS_POINTER, f"{path} is a Git LFS pointer, not the model file: its graph is not checked")
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                raw_inputs, raw_outputs, initializers = _scan(buf)
        onnx = _onnx()
        if onnx is None:
            return NO_ONNX
        inputs = [_tensor(onnx.ValueInfoProto.FromString(raw)) for raw in raw_inputs]
        outputs = [_tensor(onnx.ValueInfoProto.FromString(raw)) for raw in raw_outputs]
    except (_NotOnnx, OSError, ValueError) as exc:
        return _unreadable(path, str(exc))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError for a damaged ValueInfoProto
        return _unreadable(path, type(exc).__name__)
    return [t for t in inputs if t.name not in initializers], outputs


def _shape_problem(name, model_dims, dims, max_batch_size, exact) -> str:
    """Triton's CompareDimsSupported, "" when the shapes agree."""
    shape = lambda d: "[" + ",".join(str(x) for x in d) + "]"  # noqa: E731
    if max_batch_size > 0:
        if not model_dims or model_dims[0] != -1:
            return (f"tensor '{name}': for the model to support batching the shape should have at least 1 dimension "
                    f"and the first dimension must be -1; but shape expected by the model is {shape(model_dims)}")
        full = [-1] + list(dims)
    else:
        full = list(dims)
    same = len(model_dims) == len(full) and all(
        m == c for m, c in zip(model_dims, full) if exact or m != -1)
    if same:
        return ""
    extra = " (an initial batch dimension because max_batch_size > 0 followed by the explicit tensor shape)" \
        if max_batch_size > 0 else ""
    return (f"tensor '{name}': the model expects {len(model_dims)} dimensions (shape {shape(model_dims)}) but the "
            f"model configuration specifies {len(full)} dimensions (shape {shape(full)}){extra}")


def _compare(config, kind: str, graph: list, version: int) -> list:
    out = []
    by_name = {t.name: t for t in graph}
    allowed = ", ".join(sorted(by_name))
    for i, io in enumerate(getattr(config, kind)):
        path = (kind, i)
        where = f"version {version}: "
        tensor = by_name.get(io.name)
        if tensor is None:
            out.append(error("onnx-io", f"{where}unexpected inference {kind} '{io.name}', allowed {kind}s are: "
                             f"{allowed}", path + ("name",), hint=f"use the graph's {kind} names"))
            continue
        if io.data_type and tensor.data_type and type_name(io.data_type) != tensor.data_type:
            out.append(error("onnx-io", f"{where}configuration expects datatype {type_name(io.data_type)} for {kind} "
                             f"'{io.name}', model provides {tensor.data_type}", path + ("data_type",),
                             hint=f"set data_type: {tensor.data_type.removeprefix('TYPE_')}"))
        if kind == "input" and io.optional and config.max_batch_size != 0:
            out.append(error("onnx-io", f"{where}optional input '{io.name}' is not supported for models that support "
                             "batching", path + ("optional",), hint="drop `optional`, or set max_batch_size: 0"))
        if kind == "input" and io.allow_ragged_batch:
            if tensor.dims != [-1]:
                out.append(error("onnx-io", f"{where}configuration expects model provides input with shape [-1] for "
                                 f"ragged input '{io.name}', model provides {tensor.dims}", path,
                                 hint="a ragged input needs a 1-D dynamic graph input"))
            continue
        dims = list(io.reshape.shape) if io.HasField("reshape") else list(io.dims)
        if not tensor.dims:
            if any(d != 1 for d in dims):
                out.append(error("onnx-io", f"{where}scalar tensor '{io.name}', should only provide 1 in the model "
                                 "configuration when the model doesn't support batching", path + ("dims",)))
            continue
        if kind == "output" and io.name in {b.target_name[0] for b in config.batch_output if b.target_name}:
            continue
        problem = _shape_problem(io.name, tensor.dims, dims, config.max_batch_size, exact=(kind == "output"))
        if problem:
            field = "reshape" if io.HasField("reshape") else "dims"
            hint = "with max_batch_size > 0 leave the batch dimension out of dims" if config.max_batch_size > 0 \
                else "dims must list every dimension of the graph's tensor"
            out.append(error("onnx-shape", where + problem, path + (field,), hint=hint))
    return out


def _input_count(config) -> int:
    controls = {ci.name for ci in config.sequence_batching.control_input} if config.HasField("sequence_batching") \
        else set()
    states = len(config.sequence_batching.state) if config.HasField("sequence_batching") else 0
    return len(config.input) + len(config.batch_input) + len(controls) + states


def check(config, ctx) -> list:
    """The graph's problems, and a Note for each graph that could not be read."""
    if ctx.model_folder is None or ctx.versions is None or resolve_backend(config, ctx).backend != "onnxruntime":
        return []
    if not config.input and not config.output:
        return []  # all of it comes from auto-complete
    filename = config.default_model_filename or "model.onnx"
    out: list = []
    notes: list = []
    for version in sorted(versions_to_load(config, ctx.versions)):
        graph = ctx.model_folder.onnx_graph(version, filename)  # read_graph's answer, None: no such file
        if graph is None:
            continue
        if isinstance(graph, Note):
            if graph.key != LFS_POINTER:  # a pointer is the source's own located error (artifacts/lfs.py)
                notes.append(graph)  # for the command to show; the next version's graph may still be read
            continue
        inputs, outputs = graph
        if config.input:
            expected = _input_count(config)
            if expected != len(inputs):
                out.append(error("onnx-io", f"version {version}: configuration expects {expected} inputs, model "
                                 f"provides {len(inputs)} ({', '.join(t.name for t in inputs)})", ("input",),
                                 hint="list every graph input (initializers excluded) in `input`"))
            out.extend(_compare(config, "input", inputs, version))
        if config.output:
            out.extend(_compare(config, "output", outputs, version))
        if out:
            break  # the same config against the next version's graph would say it again
    return out + notes


"""Triton's raw warmup data: one sample, row-major, little-endian; each STRING/BYTES
element is a 4-byte little-endian length followed by its bytes (model_configuration.md,
"Model Warmup"). Triton repeats the sample for every element of the warmup batch."""
from __future__ import annotations

import math
import struct

from compiler.errors import Problem

# struct codes and value ranges per Triton data type.
_NUMERIC = {
    "TYPE_BOOL": ("?", None), "TYPE_UINT8": ("B", (0, 2**8 - 1)), "TYPE_UINT16": ("H", (0, 2**16 - 1)),
    "TYPE_UINT32": ("I", (0, 2**32 - 1)), "TYPE_UINT64": ("Q", (0, 2**64 - 1)),
    "TYPE_INT8": ("b", (-(2**7), 2**7 - 1)), "TYPE_INT16": ("h", (-(2**15), 2**15 - 1)),
    "TYPE_INT32": ("i", (-(2**31), 2**31 - 1)), "TYPE_INT64": ("q", (-(2**63), 2**63 - 1)),
    "TYPE_FP16": ("e", None), "TYPE_FP32": ("f", None), "TYPE_FP64": ("d", None),
}


_FLOAT32_MAX = 3.4028234663852886e38


def _flatten(values, path, problems, out):
    for value in values:
        if isinstance(value, list):
            _flatten(value, path, problems, out)
        else:
            out.append(value)
    return out


def _bf16(value: float) -> bytes:
    bits = struct.unpack("<I", struct.pack("<f", value))[0]
    if math.isnan(value):
        return struct.pack("<H", 0x7FC0)
    bits += 0x7FFF + ((bits >> 16) & 1)  # round to nearest even
    return struct.pack("<H", (bits >> 16) & 0xFFFF)


def element_count(dims) -> int:
    count = 1
    for d in dims:
        count *= d
    return count


def encode(data_type: str, dims: list, values: list, path: tuple) -> tuple:
    """(bytes, problems). `path` locates the `data:` list in the config."""
    problems: list = []
    flat = _flatten(values if isinstance(values, list) else [], path, problems, [])
    data_path = path + ("data",)
    if any(d < 0 for d in dims):
        # Reported by the warmup rule (compiler/rules) in Triton's words; nothing to encode.
        return b"", []
    expected = element_count(dims)
    if len(flat) != expected:
        problems.append(Problem(f"warmup data has {len(flat)} values but dims {dims} need {expected}",
                                "warmup-data-count", data_path, hint="give one value per element, row-major"))
        return b"", problems
    if data_type in ("TYPE_STRING", "TYPE_BYTES"):
        chunks = []
        for i, value in enumerate(flat):
            if not isinstance(value, str):
                problems.append(Problem(f"value {value!r} is not a string", "warmup-data-type", data_path + (i,),
                                        hint="quote it"))
                continue
            raw = value.encode("utf-8")
            chunks.append(struct.pack("<I", len(raw)) + raw)
        return b"".join(chunks), problems
    if data_type == "TYPE_BF16":
        for i, value in enumerate(flat):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(Problem(f"value {value!r} is not a number", "warmup-data-type", data_path + (i,)))
            elif not math.isinf(value) and abs(value) > _FLOAT32_MAX:  # beyond float32, so beyond BF16 too
                problems.append(Problem(f"value {value} does not fit BF16", "warmup-data-type", data_path + (i,)))
        return (b"" if problems else b"".join(_bf16(float(v)) for v in flat)), problems
    if data_type not in _NUMERIC:
        return b"", [Problem(f"warmup data cannot be given for data_type {data_type or 'unset'}", "warmup-data-type",
                             path + ("data_type",))]
    code, bounds = _NUMERIC[data_type]
    for i, value in enumerate(flat):
        if code == "?":
            ok = isinstance(value, bool)
        elif bounds is not None:
            ok = isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            problems.append(Problem(f"value {value!r} does not fit {data_type[5:]}", "warmup-data-type",
                                    data_path + (i,)))
    if problems:
        return b"", problems
    try:
        return struct.pack(f"<{len(flat)}{code}", *flat), problems
    except (struct.error, OverflowError) as exc:  # e.g. FP16 overflow
        return b"", [Problem(f"warmup data does not fit {data_type[5:]}: {exc}", "warmup-data-type", data_path)]

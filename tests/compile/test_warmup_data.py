import struct

import pytest

from compiler.compile.warmup_data import encode


def test_string_elements_are_length_prefixed_little_endian():
    data, problems = encode("TYPE_STRING", [2], ["hi", "héllo"], ())
    assert problems == []
    assert data == struct.pack("<I", 2) + b"hi" + struct.pack("<I", 6) + "héllo".encode()


@pytest.mark.parametrize("dtype,values,expected", [
    ("TYPE_FP32", [1, 2.5], struct.pack("<2f", 1.0, 2.5)),
    ("TYPE_INT64", [-1, 2**40], struct.pack("<2q", -1, 2**40)),
    ("TYPE_UINT8", [[0, 255]], bytes([0, 255])),  # nested lists flatten row-major
    ("TYPE_BOOL", [True, False], b"\x01\x00"),
    ("TYPE_FP16", [1.0], struct.pack("<e", 1.0)),
    ("TYPE_BF16", [1.0, -2.0], b"\x80\x3f\x00\xc0"),
])
def test_numeric_types_are_row_major_little_endian(dtype, values, expected):
    data, problems = encode(dtype, [len(expected) // struct.calcsize("<" + {"TYPE_FP32": "f", "TYPE_INT64": "q",
                                                                            "TYPE_UINT8": "B", "TYPE_BOOL": "?",
                                                                            "TYPE_FP16": "e", "TYPE_BF16": "H"}[dtype])],
                            values, ())
    assert problems == []
    assert data == expected


def test_count_range_and_type_mismatches_are_located_problems():
    _, problems = encode("TYPE_INT8", [3], [1, 2], ("w",))
    assert [(p.rule, p.path) for p in problems] == [("warmup-data-count", ("w", "data"))]
    _, problems = encode("TYPE_INT8", [2], [1, 128], ("w",))
    assert [(p.rule, p.path) for p in problems] == [("warmup-data-type", ("w", "data", 1))]
    _, problems = encode("TYPE_FP32", [1], ["x"], ())
    assert problems[0].rule == "warmup-data-type"
    _, problems = encode("TYPE_BOOL", [1], [1], ())
    assert problems[0].rule == "warmup-data-type"
    assert encode("TYPE_FP32", [-1], [1.0], ()) == (b"", [])  # variable dims: the warmup rule reports them

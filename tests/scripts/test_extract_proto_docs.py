"""scripts/extract_proto_docs.py on small .proto snippets written here, in Triton's `//@@` style."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "scripts" / "extract_proto_docs.py"
_spec = importlib.util.spec_from_file_location("extract_proto_docs", SCRIPT)
extract_proto_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(extract_proto_docs)

SNIPPET = """\
// Copyright line: a plain comment, never documentation.
syntax = "proto3";

package demo;

//@@.. cpp:namespace:: demo

//@@
//@@.. cpp:enum:: Color
//@@
//@@   A color.
//@@
enum Color {
  //@@  .. cpp:enumerator:: Color::RED = 0
  RED = 0;
  //@@  .. cpp:enumerator:: Color::GREEN = 1
  //@@
  //@@     The color of
  //@@     grass.
  //@@
  GREEN = 1;
}

//@@
//@@.. cpp:var:: message Outer
//@@
//@@   The outer message,
//@@   over two lines.
//@@
//@@   A second paragraph.
//@@
message Outer
{
  //@@  .. cpp:var:: message Dims
  //@@
  //@@     Named Dims in the directive, declared as Shape.
  //@@
  message Shape { repeated int64 dim = 1; }

  message Undocumented {}

  //@@  .. cpp:var:: int32 level
  //@@
  //@@     The level.
  //@@
  //@@       - -1: Disabled
  //@@       -  1+: Enabled (greater values
  //@@          mean more)
  //@@
  int32 level = 1;

  //@@  .. cpp:var:: bool optional
  //@@
  //@@     A field whose name is a proto label.
  //@@
  bool optional = 2;

  //@@  .. cpp:var:: map<string, Shape> inputs
  //@@
  //@@     Shapes by input name.
  //@@
  map<string, Shape> inputs = 3;

  //@@  .. cpp:var:: oneof choice
  //@@
  //@@     Pick one.
  //@@
  oneof choice
  {
    //@@    .. cpp:var:: string path
    //@@
    //@@       A path; "quoted; text" stays.
    //@@
    string path = 4 [json_name = "p;x"];

    repeated Shape shapes = 5;
  }

  //@@  .. cpp:var:: string detached
  //@@
  //@@     A blank line below: this block belongs to nothing.


  string after_blank = 6;
}
"""


def test_text_attaches_to_the_declaration_that_follows():
    docs = extract_proto_docs.extract(SNIPPET)
    assert docs["enums"] == {"demo.Color": "A color."}
    assert docs["enum_values"] == {"demo.Color.GREEN": "The color of grass."}
    assert docs["messages"] == {
        "demo.Outer": "The outer message, over two lines.\n\nA second paragraph.",
        "demo.Outer.Shape": "Named Dims in the directive, declared as Shape.",
    }
    assert docs["oneofs"] == {"demo.Outer.choice": "Pick one."}
    assert docs["fields"] == {
        "demo.Outer.level": "The level.\n\n- -1: Disabled\n- 1+: Enabled (greater values mean more)",
        "demo.Outer.optional": "A field whose name is a proto label.",
        "demo.Outer.inputs": "Shapes by input name.",
        "demo.Outer.path": 'A path; "quoted; text" stays.',
    }


@pytest.mark.parametrize("text, complaint", [
    ("package demo;\nmessage M {\n  int32 x = 1;\n", "ends inside a block"),
    ("package demo;\n}\n", "closes no block"),
    ("package demo;\nint32 x = 1;\n", "outside a message"),
    ("package demo;\nmessage M { int32 = 1; }\n", "cannot read the field"),
])
def test_a_proto_it_cannot_read_is_refused(text, complaint):
    with pytest.raises(extract_proto_docs.ProtoDocError, match=complaint):
        extract_proto_docs.extract(text)


def test_the_command_writes_the_data_file(tmp_path):
    proto, out = tmp_path / "demo.proto", tmp_path / "data" / "docs.json"
    proto.write_text(SNIPPET)
    run = subprocess.run([sys.executable, SCRIPT, proto, "--out", out, "--source", "demo r1 (abc)"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    data = json.loads(out.read_text())
    assert data["source"] == "demo r1 (abc)"
    assert data["fields"]["demo.Outer.level"].startswith("The level.")
    assert not list(out.parent.glob("*.tmp"))

    proto.write_text("package demo;\nmessage M {\n")
    run = subprocess.run([sys.executable, SCRIPT, proto, "--out", out], capture_output=True, text=True)
    assert run.returncode == 1
    assert "ends inside a block" in run.stderr and "Traceback" not in run.stderr
    assert json.loads(out.read_text()) == data  # the old file is left as it was

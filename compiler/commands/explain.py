"""`triton-gitops explain FIELD`: what a manifest field means, its type, default and an example.

    triton-gitops explain dynamic_batching.max_queue_delay_microseconds
    triton-gitops explain targets.*.url --output json
    triton-gitops explain --list              # every field path, one a line (shell completion)

The text is the schema's (Triton's proto comments for ModelConfig fields); see
compiler/manifest/explain.py for how a path is read and docs/explain.md for where the
text comes from.
"""
from __future__ import annotations

import json
import sys
import textwrap

from compiler import triton_releases
from compiler.commands import EXIT_OK
from compiler.errors import FatalError
from compiler.manifest.explain import explain, field_paths

_WIDTH = 88


def _wrap(text: str, indent: str, hang: str = "") -> str:
    """Paragraphs wrapped to the width; a `- ` list item keeps its own line, and its
    continuation lines (like those of `hang`-indented entries) are indented further."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        if lines:
            lines.append("")
        for line in paragraph.split("\n"):
            more = "  " if line.startswith("- ") else hang
            lines += textwrap.wrap(line, _WIDTH, initial_indent=indent, subsequent_indent=indent + more) or [indent]
    return "\n".join(lines)


def _default_text(answer) -> str:
    if answer.required:
        return "none (required)"
    if answer.proto and answer.default is None:
        return "not set"
    if answer.default is None:
        return "none (optional)"
    shown = answer.default if isinstance(answer.default, str) and answer.default else json.dumps(answer.default)
    return f"{shown} (when left out)"


def render_text(answer) -> str:
    kind = answer.type
    if answer.proto_type and f"({answer.proto_type})" not in kind:  # "mapping (ModelMetrics)" says it already
        kind += f" (proto: {answer.proto_type})"
    rows = [("type", kind),
            ("default", _default_text(answer))]
    if answer.added_in:
        rows.append(("added in", f"Triton {answer.added_in}"))
    if answer.proto:
        rows.append(("proto", answer.proto))
    if answer.keys:
        rows.append(("keys", ", ".join(answer.keys)))
    out = [answer.field, _wrap(answer.description, "  "), ""]
    out += [f"{name + ':':<10}{value}" for name, value in rows]
    if answer.values:
        described = {k: v for k, v in answer.values.items() if v}
        out.append("values:")
        if described:
            out += [_wrap(f"{name}: {text}" if text else name, "  ", "    ") for name, text in answer.values.items()]
        else:
            out.append(_wrap(", ".join(answer.values), "  "))
    if answer.short_forms:
        out.append("also accepted:")
        out += [_wrap(form, "  ") for form in answer.short_forms]
    out += ["", "example (models.yaml):", textwrap.indent(answer.example.rstrip("\n"), "  ")]
    return "\n".join(out) + "\n"


def run(options) -> int:
    if options.list:
        sys.stdout.write("".join(f"{path}\n" for path in field_paths()))
        return EXIT_OK
    if not options.field:
        raise FatalError("name a field to explain", "e.g. `triton-gitops explain instance_group.kind`; "
                                                     "`triton-gitops explain --list` lists them all")

    answer = explain(options.field, releases=triton_releases.field_releases())
    if options.output == "json":
        sys.stdout.write(json.dumps(answer.as_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(answer))
    return EXIT_OK

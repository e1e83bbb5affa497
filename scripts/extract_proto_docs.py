#!/usr/bin/env python3
"""Extract the `//@@` doc comments of Triton's model_config.proto into a JSON data file.

    python scripts/extract_proto_docs.py PATH/TO/model_config.proto \
        [--out compiler/data/model_config_docs.json] [--source "where the .proto came from"]

Triton documents every message, field, oneof, enum and enum value of its model
configuration in `//@@` comment blocks that precede the declaration; the first line of a
block is a Sphinx directive (`.. cpp:var:: uint32 count`) naming the C++ spelling, which is
dropped. The text is kept as Triton wrote it; only whitespace is normalised (the lines of a
paragraph joined by one space, an item of a `- ` list on a line of its own, paragraphs
separated by a blank line).

Each block is attached to the declaration that follows it, not to the name in its
directive: the directive spells enum values as `DataType::FP32` and some messages under an
older name (`message Dims` above `message Shape`), while the declaration is what the
compiled descriptor knows. A blank line between a block and the next declaration detaches it.

The output keys are protobuf full names, as `descriptor.full_name` spells them:
`fields` ("inference.ModelDynamicBatching.max_queue_delay_microseconds"), `messages`,
`enums`, `oneofs` ("inference.ModelConfig.scheduling_choice") and `enum_values`, keyed by
enum full name and value ("inference.ModelInstanceGroup.Kind.KIND_GPU"). Declarations
without text are left out. The .proto itself is not part of this repository.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "compiler" / "data" / "model_config_docs.json"

_DOC = re.compile(r"^\s*//@@(.*)$")
_DIRECTIVE = re.compile(r"^\s*\.\.\s+cpp:\w+::")
# Code tokens: braces and semicolons end statements; `map<K, V>` is one word; a quoted
# string is one word so a `;` inside an option value cannot end a statement.
_TOKEN = re.compile(r'map\s*<[^>]*>|"(?:[^"\\]|\\.)*"|[{};=\[\]]|[^\s{};=\[\]"]+')
_BULLETS = {"-", "*"}
_FIELD_LABELS = {"repeated", "optional", "required"}
_IGNORED_STATEMENTS = {"syntax", "import", "option", "reserved", "extensions"}


class ProtoDocError(Exception):
    """The .proto does not have the shape this extractor understands."""


def doc_text(lines: list) -> str:
    """The text of one `//@@` block: directive lines dropped, each paragraph on one line
    (each item of a `- ` list on a line of its own)."""
    paragraphs, current = [], []  # current: the lines (lists of words) of the open paragraph
    for line in lines:
        if _DIRECTIVE.match(line):
            continue
        words = line.split()
        if not words:
            if current:
                paragraphs.append(current)
            current = []
        elif not current or words[0] in _BULLETS:
            current.append(words)
        else:
            current[-1].extend(words)
    if current:
        paragraphs.append(current)
    return "\n\n".join("\n".join(" ".join(words) for words in paragraph) for paragraph in paragraphs)


def _tokens(text: str):
    """('doc', line) for a `//@@` line, ('blank', '') for an empty line, ('code', token) otherwise."""
    for line in text.splitlines():
        doc = _DOC.match(line)
        if doc:
            yield "doc", doc.group(1)
            continue
        code = line.split("//", 1)[0]
        if not code.strip():
            if not line.strip():
                yield "blank", ""
            continue
        for token in _TOKEN.findall(code):
            yield "code", token


class _Extractor:
    def __init__(self):
        self.package = ""
        self.scopes: list = []  # (kind, full name or None) of the open blocks
        self.docs = {"messages": {}, "fields": {}, "oneofs": {}, "enums": {}, "enum_values": {}}

    def _record(self, section: str, key: str, lines) -> None:
        text = doc_text(lines or [])
        if text:
            self.docs[section][key] = text

    def _enclosing(self, *kinds):
        for kind, name in reversed(self.scopes):
            if kind in kinds:
                return name
        return self.package

    def open_block(self, words: list, doc) -> None:
        kind = words[0] if words else ""
        if kind in ("message", "enum") and len(words) >= 2:
            parent = self._enclosing("message")
            name = f"{parent}.{words[1]}" if parent else words[1]
            self._record("messages" if kind == "message" else "enums", name, doc)
            self.scopes.append((kind, name))
        elif kind == "oneof" and len(words) >= 2:
            name = f"{self._enclosing('message')}.{words[1]}"
            self._record("oneofs", name, doc)
            self.scopes.append(("oneof", name))
        else:
            self.scopes.append(("block", None))

    def close_block(self) -> None:
        if not self.scopes:
            raise ProtoDocError("a '}' closes no block")
        self.scopes.pop()

    def statement(self, words: list, doc) -> None:
        if not words or words[0] in _IGNORED_STATEMENTS:
            return
        if words[0] == "package" and len(words) >= 2:
            self.package = words[1]
            return
        if "=" not in words:
            raise ProtoDocError(f"cannot read the statement {' '.join(words)!r}")
        before = words[: words.index("=")]
        innermost = self.scopes[-1][0] if self.scopes else ""
        if innermost == "enum":
            self._record("enum_values", f"{self.scopes[-1][1]}.{before[-1]}", doc)
            return
        if innermost not in ("message", "oneof"):
            raise ProtoDocError(f"a field outside a message: {' '.join(words)!r}")
        parts = before[1:] if len(before) == 3 and before[0] in _FIELD_LABELS else before
        if len(parts) != 2:  # a label may also be a field's name: `bool optional = 8;`
            raise ProtoDocError(f"cannot read the field {' '.join(words)!r}")
        self._record("fields", f"{self._enclosing('message')}.{parts[1]}", doc)


def extract(text: str) -> dict:
    """The docs of one .proto's text, as the sections described in the module docstring."""
    extractor = _Extractor()
    pending: list | None = None  # the `//@@` block read last, until a statement takes it
    words: list = []
    doc = None  # the block of the statement being read
    for kind, value in _tokens(text):
        if kind == "doc":
            pending = (pending or []) + [value]
        elif kind == "blank":
            pending = None
        elif value == "{":
            extractor.open_block(words, doc)
            words, doc = [], None
        elif value == "}":
            extractor.close_block()
            words, doc, pending = [], None, None
        elif value == ";":
            extractor.statement(words, doc)
            words, doc = [], None
        else:
            if not words:
                doc, pending = pending, None
            words.append(value)
    if extractor.scopes or words:
        raise ProtoDocError("the file ends inside a block or statement")
    return {section: dict(sorted(entries.items())) for section, entries in extractor.docs.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("proto", type=Path, help="Triton's protobuf/model_config.proto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--source", default="", help="where the .proto came from (repository, ref, commit)")
    options = parser.parse_args(argv)
    try:
        docs = extract(options.proto.read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"extract_proto_docs: error: cannot read {options.proto}: {exc.strerror}", file=sys.stderr)
        return 1
    except ProtoDocError as exc:
        print(f"extract_proto_docs: error: {options.proto}: {exc}", file=sys.stderr)
        return 1
    data = {"source": options.source, **docs}
    options.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = options.out.with_name(options.out.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(options.out)
    counts = ", ".join(f"{len(entries)} {section}" for section, entries in docs.items())
    print(f"wrote {options.out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

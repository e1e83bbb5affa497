"""Load YAML into plain Python data plus a map from document path to line/column.

Built directly from the parser's event stream (libyaml when available) instead of
PyYAML's composer/constructor, because we need what they do not give:
- duplicate keys are problems (PyYAML silently keeps the last one);
- every value's position, so any later stage can say `models.yaml:12:7`;
- aliases are counted as they expand, so an alias bomb is refused after a bounded
  amount of work instead of exhausting memory;
- nesting depth and node count are capped without recursion.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import yaml

from compiler.errors import Problem

# Only the event stream of these loaders is used. libyaml is ~10x faster; the pure-Python
# parser is the fallback where PyYAML was built without it.
_Parser = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

MAX_BYTES = 16 * 1024 * 1024
MAX_NODES = 500_000
MAX_DEPTH = 64
MERGE_TAG = "tag:yaml.org,2002:merge"
# Python will not convert (or print) a decimal integer of more than 4,300 digits, and no
# manifest value needs more than 20; a longer integer literal is a located problem.
MAX_INT_CHARS = 100



@dataclass
class Document:
    """Parsed YAML: `data` as plain dicts/lists/scalars, positions keyed by path tuples."""

    file: str
    data: Any = None  # what yaml.safe_load gives: dicts, lists, scalars
    positions: dict = field(default_factory=dict)  # path -> (line, col) of the value
    key_positions: dict = field(default_factory=dict)  # path -> (line, col) of its key
    problems: list = field(default_factory=list)
    # Set when the document was loaded without positions: they are worked out from it the
    # first time a problem needs locating (most runs of a valid manifest never do, and at
    # 10,000 models the positions cost a third of the load and ~100 MB).
    text: Optional[str] = field(default=None, repr=False)

    def locate(self, path, prefer_key: bool = False) -> tuple:
        """Position of `path`, or of its nearest ancestor that has one."""
        if self.text is not None:
            located = Document(self.file)
            _build(self.text, located, positions=True)
            self.positions, self.key_positions, self.text = located.positions, located.key_positions, None
        path = tuple(path)
        while True:
            if prefer_key and path in self.key_positions:
                return self.key_positions[path]
            if path in self.positions:
                return self.positions[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def place(self, problem: Problem, prefer_key: bool = False) -> Problem:
        line, column = self.locate(problem.path, prefer_key)
        return problem.at(self.file, line, column)


class _LoadAbort(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem


class _NeedPositions(Exception):
    """A problem found while loading without positions needs one it did not record."""


def _pos(mark) -> tuple:
    """(line, column), 1-based, of a parser mark (or of a position already made one)."""
    return mark if isinstance(mark, tuple) else (mark.line + 1, mark.column + 1)


# Plain scalars resolve by the YAML 1.2 core schema, as editors using the
# yaml-language-server do: `on`/`no` stay strings, `01` stays the string "01" (so a
# version folder with a leading zero is reported instead of silently becoming 1), and
# dates stay strings.
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_INT_OTHER = re.compile(r"^(?:0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?$")
_SPECIAL_FLOAT = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan")}
_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
         "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
_COLLECTION_TAGS = {yaml.MappingStartEvent: (None, "!", "tag:yaml.org,2002:map"),
                    yaml.SequenceStartEvent: (None, "!", "tag:yaml.org,2002:seq")}


class _IntegerTooLong(ValueError):
    pass


def _plain(value: str):
    if value in _BOOL:
        return _BOOL[value]
    if _NULL.match(value):
        return None
    if _INT.match(value) or _INT_OTHER.match(value):
        if len(value) > MAX_INT_CHARS:
            raise _IntegerTooLong(value)
        return int(value) if _INT.match(value) else int(value, 0)
    if _FLOAT.match(value):
        return float(value)
    if value.lower() in _SPECIAL_FLOAT:
        return _SPECIAL_FLOAT[value.lower()]
    return value


def _scalar(event, abort):
    try:
        return _resolve_scalar(event, abort)
    except _IntegerTooLong:
        abort(f"an integer of {len(event.value):,} characters is too large for a manifest", "yaml-number",
              event.start_mark, hint="quote it if it is meant as text")


def _resolve_scalar(event, abort):
    tag, value = event.tag, event.value
    if tag in (None, "!"):
        if not event.style and event.implicit[0]:
            if value == "<<":
                return MERGE_TAG
            return _plain(value)
        return value
    if tag not in _TAGS:
        abort(f"YAML tag {tag} is not supported in a manifest", "yaml-tag", event.start_mark,
              hint="remove the tag; plain strings, numbers, booleans and null are enough")
    if tag.endswith(":str"):
        return value
    resolved = _plain(value)
    expected = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[tag.rsplit(":", 1)[1]]
    if not isinstance(resolved, expected) or (expected is int and isinstance(resolved, bool)):
        abort(f"{value!r} is not a valid {tag}", "yaml-tag", event.start_mark)
    return float(resolved) if tag.endswith(":float") else resolved


def _key_text(value):
    """Keys are strings, as in JSON: `1:` and `"1":` are the same version key, and the
    schema's patterns (version numbers, names) see exactly what was written."""
    if value == MERGE_TAG or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _line_col_of_offset(raw: bytes, offset: int) -> tuple:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    return line, offset - (before.rfind(b"\n") + 1) + 1


def decode(raw: bytes, file: str) -> str:
    """UTF-8 (a BOM is allowed and dropped); anything else is a located problem."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(raw, exc.start)
        raise _LoadAbort(
            Problem(f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", "yaml-encoding",
                    hint="save the file as UTF-8").at(file, line, col)
        )


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _inside(text: str, line: int, col: int) -> tuple:
    """libyaml reports an error at the end of a file without a final newline on the line after
    it; point at the end of the last line instead, where an editor can show it."""
    lines = _LINE_BREAK.split(text)
    if line <= len(lines):
        return line, col
    return len(lines), len(lines[-1]) + 1


def load_text(text: str, file: str) -> Document:
    """The document, its positions left for the first `locate` (see Document.text)."""
    doc = Document(file)
    try:
        try:
            _build(text, doc, positions=False)
            doc.text = text
        except _NeedPositions:
            doc = Document(file)
            _build(text, doc, positions=True)
    except _LoadAbort as abort:
        doc.problems.append(abort.problem)
        doc.data = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = _inside(text, *_pos(mark)) if mark else (1, 1)
        message = (exc.problem or str(exc)).strip()
        if exc.context:
            message = f"{exc.context}: {message}"
        doc.problems.append(Problem(f"YAML syntax: {message}", "yaml-syntax",
                                    hint="check indentation and quoting at this position").at(file, line, col))
        doc.data = None
    except yaml.YAMLError as exc:  # reader errors (control characters) carry a position of their own
        position = getattr(exc, "position", None)
        line, col = _line_col_of_offset(text.encode("utf-8"), position) if position is not None else (1, 1)
        doc.problems.append(Problem(f"YAML: {exc}".splitlines()[0], "yaml-syntax").at(file, line, col))
        doc.data = None
    return doc


def load_bytes(raw: bytes, file: str) -> Document:
    if len(raw) > MAX_BYTES:
        doc = Document(file)
        doc.problems.append(Problem(f"file is too large; the limit is {MAX_BYTES:,} bytes", "yaml-size",
                                    hint="split large data out of the manifest").at(file, 1, 1))
        return doc
    try:
        text = decode(raw, file)
    except _LoadAbort as abort:
        doc = Document(file)
        doc.problems.append(abort.problem)
        return doc
    return load_text(text, file)


class _Frame:
    __slots__ = ("anchor", "explicit", "key", "key_pos", "kind", "merges", "nodes", "path", "start", "value")

    def __init__(self, kind, value, path, start, anchor):
        self.kind, self.value, self.path, self.start, self.anchor = kind, value, path, start, anchor
        self.key = _NO_KEY
        self.key_pos = None
        self.nodes = 1
        self.merges = []  # (mapping, position) from `<<:`, applied when the mapping closes
        self.explicit = set()


_NO_KEY = object()


def _build(text: str, doc: Document, positions: bool) -> None:
    """Fills doc.data; with `positions`, doc.positions and doc.key_positions too. The checks
    and their located refusals are the same either way (they carry the parser's marks)."""
    parser = _Parser(text)
    anchors: dict = {}  # name -> (value, node count)
    stack: list = []
    total = 0
    documents = 0
    file = doc.file

    def abort(message, rule, mark, hint=""):
        line, col = _pos(mark)
        raise _LoadAbort(Problem(message, rule, hint=hint).at(file, line, col))

    def child_path(mark):
        if not stack:
            return ()
        top = stack[-1]
        if top.kind == "seq":
            return top.path + (len(top.value),)
        if top.key is _NO_KEY:
            return None  # this value is a key
        return top.path + (top.key,)

    def deliver(value, nodes, mark, anchor):
        if anchor is not None:
            anchors[anchor] = (value, nodes)
        if not stack:
            doc.data = value
            return
        top = stack[-1]
        top.nodes += nodes
        if top.kind == "seq":
            top.value.append(value)
            return
        if top.key is _NO_KEY:
            if isinstance(value, (dict, list)):
                abort("a mapping or list cannot be used as a key", "yaml-key", mark)
            top.key, top.key_pos = _key_text(value), _pos(mark)
            return
        key, top.key = top.key, _NO_KEY
        if key == MERGE_TAG:
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                abort("`<<` merges only mappings", "yaml-merge", mark)
            top.merges.extend(merged)
            return
        if key in top.explicit:
            if not positions:
                raise _NeedPositions()  # the message names the first key's line
            first = doc.key_positions.get(top.path + (key,), (0, 0))
            abort(f"duplicate key {key!r} (first defined at line {first[0]})", "yaml-duplicate-key", top.key_pos,
                  hint="remove one of the two; YAML would otherwise silently keep the last")
        top.explicit.add(key)
        top.value[key] = value
        if positions:
            doc.key_positions[top.path + (key,)] = top.key_pos

    for event in parser_events(parser):
        kind = type(event)
        if kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                abort("more than one YAML document; a manifest is a single document", "yaml-multiple-documents",
                      event.start_mark, hint="remove the `---` separator")
            continue
        if kind in (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent):
            continue
        mark = event.start_mark
        if kind is yaml.ScalarEvent:
            total += 1
            if positions:
                path = child_path(mark)
                if path is not None and path[-1:] != (MERGE_TAG,):
                    doc.positions[path] = _pos(mark)
            deliver(_scalar(event, abort), 1, mark, event.anchor)
        elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
            total += 1
            if event.tag not in _COLLECTION_TAGS[kind]:
                abort(f"YAML tag {event.tag} is not supported in a manifest", "yaml-tag", mark,
                      hint="remove the tag; plain mappings and lists are enough")
            if len(stack) >= MAX_DEPTH:
                abort(f"nested more than {MAX_DEPTH} levels deep", "yaml-depth", mark)
            path = None
            if positions:
                path = child_path(mark)
                if path is None:
                    path = ("<key>",)
                doc.positions[path] = _pos(mark)
            container: Union[dict, list] = {} if kind is yaml.MappingStartEvent else []
            stack.append(_Frame("map" if kind is yaml.MappingStartEvent else "seq", container, path, _pos(mark),
                                event.anchor))
        elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
            frame = stack.pop()
            for merged in frame.merges:
                for key, value in merged.items():
                    frame.value.setdefault(key, value)
            # Located at its start: a problem with the collection as a whole (a duplicate key,
            # a mapping used as a key) is not at its end, which may be past the file's last line.
            deliver(frame.value, frame.nodes, frame.start, frame.anchor)
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                abort(f"alias *{event.anchor} refers to an anchor that is not defined (or not yet closed)",
                      "yaml-alias", mark)
            value, nodes = anchors[event.anchor]
            total += nodes
            if total > MAX_NODES:
                abort(f"aliases expand the document past {MAX_NODES:,} values", "yaml-alias-bomb", mark,
                      hint="use fewer nested aliases")
            if positions:
                path = child_path(mark)
                if path is not None:
                    doc.positions[path] = _pos(mark)
            # A copy, so that later stages may treat every value as their own.
            deliver(copy.deepcopy(value) if isinstance(value, (dict, list)) else value, nodes, mark, None)
        if total > MAX_NODES:
            abort(f"document has more than {MAX_NODES:,} values", "yaml-size", mark)


def parser_events(parser):
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose:
            dispose()

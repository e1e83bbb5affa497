"""Positions of fields in a protobuf text-format file (config.pbtxt).

protobuf's python `text_format` parses but tells nothing about where a field was written, so
this module tokenizes the text itself, builds a light tree of what was written, and walks that
tree along the message descriptor to map every field path to its (line, column), 1-based:

- paths use the rules' convention: field names, list indexes for repeated fields (counted per
  occurrence, whether written `input [ {..}, {..} ]` or as repeated `input {..}` blocks, or
  both), map entries keyed by their key as a string: `parameters { key: "K" value {..} }` is
  `("parameters", "K")`;
- a message or singular field is located at its field name, a list element at the element;
- fields the descriptor does not know are collected (with their position) for "did you mean".

The scanner is lenient and never the authority on syntax: `text_format.Parse` is; when the
scanner cannot follow the text it raises `ScanError` and the caller falls back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Union, cast

from compiler.errors import Picklable
from compiler.rules.base import is_map, is_repeated

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\f\v]+) | (?P<nl>\n) | (?P<comment>\#[^\n]*)
  | (?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)[fFuUlL]*)
  | (?P<ident>-?[A-Za-z_][A-Za-z0-9_]*)
  | (?P<symbol>[:{}<>\[\],;/.-])
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", "'": "'",
            '"': '"', "?": "?"}


MAX_TOKENS = 200_000  # beyond this (a pathological file) the caller falls back to coarse positions
MAX_DEPTH = 100  # ModelConfig nests about 8 deep; deeper text is not a config


class ScanError(Picklable, Exception):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(f"{line}:{column}: {message}")
        self.line, self.column = line, column


@dataclass(slots=True)
class Token:
    kind: str
    text: str
    line: int
    column: int


def tokenize(text: str) -> list:
    tokens, pos, line, line_start = [], 0, 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ScanError(f"unexpected character {text[pos]!r}", line, pos - line_start + 1)
        kind = match.lastgroup
        if kind == "nl":
            line, line_start = line + 1, match.end()
        elif kind not in ("ws", "comment"):
            tokens.append(Token(cast(str, kind), match.group(), line, pos - line_start + 1))  # every branch is named
            if len(tokens) > MAX_TOKENS:
                raise ScanError(f"more than {MAX_TOKENS:,} tokens; positions are not tracked", line, 1)
        pos = match.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)", re.DOTALL)


def _escape_value(match) -> str:
    code = match.group(1)
    if code[0] in "xuU" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code[0].isdigit() and code[0] in "01234567":
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


def unescape(quoted: str) -> str:
    """The value of one quoted text-format string (C-style escapes)."""
    body = quoted[1:-1]
    return _ESCAPE.sub(_escape_value, body) if "\\" in body else body


@dataclass(slots=True)
class Scalar:
    text: str  # decoded value for strings, the token text otherwise
    line: int
    column: int
    is_string: bool = False


@dataclass(slots=True)
class Message:
    line: int
    column: int
    entries: list = field(default_factory=list)  # [Entry]


@dataclass(slots=True)
class ListValue:
    line: int
    column: int
    items: list = field(default_factory=list)  # [Scalar | Message]


@dataclass(slots=True)
class Entry:
    name: str
    line: int
    column: int
    value: Union[Scalar, Message, ListValue]


class _Parser:
    _CLOSE: ClassVar[dict] = {"{": "}", "<": ">"}

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, *texts) -> bool:
        if self.peek().kind == "symbol" and self.peek().text in texts:
            self.i += 1
            return True
        return False

    def fail(self, message: str):
        token = self.peek()
        raise ScanError(message, token.line, token.column)

    def message(self, line: int, column: int, close) -> Message:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ScanError(f"nested more than {MAX_DEPTH} levels deep", line, column)
        node = Message(line, column)
        while True:
            token = self.peek()
            if close is None and token.kind == "eof":
                return node
            if close is not None and token.kind == "symbol" and token.text == close:
                self.take()
                self.depth -= 1
                return node
            if token.kind != "ident" or token.text.startswith("-"):
                self.fail(f"expected a field name, got {token.text or 'end of file'!r}")
            self.take()
            self.accept(":")
            node.entries.append(Entry(token.text, token.line, token.column, self.value(allow_list=True)))
            self.accept(",", ";")

    def value(self, allow_list: bool):
        token = self.peek()
        if token.kind == "symbol" and token.text in self._CLOSE:
            self.take()
            return self.message(token.line, token.column, self._CLOSE[token.text])
        if allow_list and token.kind == "symbol" and token.text == "[":
            self.take()
            node = ListValue(token.line, token.column)
            if self.accept("]"):
                return node
            while True:
                node.items.append(self.value(allow_list=False))
                if self.accept("]"):
                    return node
                if not self.accept(","):
                    self.fail("expected ',' or ']' in a list")
        if token.kind == "string":
            self.take()
            parts = [unescape(token.text)]
            while self.peek().kind == "string":
                parts.append(unescape(self.take().text))
            return Scalar("".join(parts), token.line, token.column, is_string=True)
        if token.kind == "symbol" and token.text == "-":
            self.take()
            nxt = self.take()
            if nxt.kind not in ("number", "ident"):
                self.fail("expected a number after '-'")
            return Scalar("-" + nxt.text, token.line, token.column)
        if token.kind in ("number", "ident"):
            self.take()
            return Scalar(token.text, token.line, token.column)
        self.fail(f"expected a value, got {token.text or 'end of file'!r}")


def parse_tree(text: str) -> Message:
    return _Parser(text).message(1, 1, None)


@dataclass
class Unknown:
    """A field name the message type does not have."""

    path: tuple  # of the message holding it
    name: str
    line: int
    column: int
    message_type: str
    known: list


@dataclass
class Positions:
    by_path: dict = field(default_factory=dict)
    unknown: list = field(default_factory=list)

    def locate(self, path) -> tuple:
        """(line, column) of `path`, else of its nearest located ancestor, else (1, 1)."""
        path = tuple(path)
        while path:
            if path in self.by_path:
                return self.by_path[path]
            path = path[:-1]
        return self.by_path.get((), (1, 1))


def _map_key(item) -> str:
    if isinstance(item, Message):
        for entry in item.entries:
            if entry.name == "key" and isinstance(entry.value, Scalar):
                text = entry.value.text
                if not entry.value.is_string:
                    try:
                        return str(int(text, 0))
                    except ValueError:
                        return text
                return text
    return ""


def _walk(node: Message, descriptor, path: tuple, out: Positions) -> None:
    counters: dict = {}
    for entry in node.entries:
        fd = descriptor.fields_by_name.get(entry.name)
        if fd is None:
            out.unknown.append(Unknown(path, entry.name, entry.line, entry.column, descriptor.name,
                                       [f.name for f in descriptor.fields]))
            continue
        here = path + (fd.name,)
        out.by_path.setdefault(here, (entry.line, entry.column))
        in_list = isinstance(entry.value, ListValue)
        items = entry.value.items if in_list else [entry.value]
        for item in items:
            where = (item.line, item.column) if in_list else (entry.line, entry.column)
            if is_map(fd):
                key_path = here + (_map_key(item),)
                out.by_path.setdefault(key_path, where)
                value_fd = fd.message_type.fields_by_name["value"]
                for sub in item.entries if isinstance(item, Message) else []:
                    if sub.name == "value":
                        if value_fd.message_type is not None and isinstance(sub.value, Message):
                            _walk(sub.value, value_fd.message_type, key_path, out)
                        else:
                            out.by_path[key_path] = (sub.value.line, sub.value.column)
                continue
            if is_repeated(fd):
                index = counters.get(fd.name, 0)
                counters[fd.name] = index + 1
                item_path = here + (index,)
                out.by_path.setdefault(item_path, where)
            else:
                item_path = here
            if fd.message_type is not None and isinstance(item, Message):
                _walk(item, fd.message_type, item_path, out)


def positions(text: str, descriptor) -> Positions:
    """Positions of every field written in `text`, a text-format `descriptor` message."""
    out = Positions()
    out.by_path[()] = (1, 1)
    _walk(parse_tree(text), descriptor, (), out)
    return out

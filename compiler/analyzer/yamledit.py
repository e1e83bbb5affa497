"""Set and delete keys of one mapping in a YAML text, leaving every other byte as it was.

A manifest is reviewed text: its comments, key order, flow or block style and blank
lines are the authors'. A round trip through a YAML library re-emits the whole document
(indentation, quoting, line wrapping); here the text is edited in place instead. PyYAML's
event stream gives each node's span; a changed value is rewritten inside its own span
(a block mapping or a same-length list of mappings key by key, so a comment beside an
unchanged key stays), a new key is inserted as its own lines, a deleted key's lines are
removed. New text is written the way `import` writes manifests (compiler/importer/emit.py).

The pure-Python parser is used on purpose: its marks count characters of the str, which
is what the edits slice (libyaml's count bytes of the UTF-8 input).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

from compiler.importer.emit import WIDTH, Writer, flow


class EditError(Exception):
    """The text cannot be edited safely (the caller says where and why)."""


@dataclass
class Node:
    kind: str  # scalar, alias, mapping, sequence
    start: int
    end: int  # just past the node's last character (trailing blanks and line breaks left out)
    flow: bool = False
    value: str = ""  # a scalar's text
    pairs: list = field(default_factory=list)  # mapping: [(key Node, value Node)]
    items: list = field(default_factory=list)  # sequence: [Node]
    pending: Optional[Node] = None  # a mapping's key awaiting its value while parsing


def parse(text: str) -> Node:
    root: Optional[Node] = None
    stack: list[Node] = []

    def attach(node):
        nonlocal root
        if not stack:
            root = node
        elif stack[-1].kind == "sequence":
            stack[-1].items.append(node)
        elif stack[-1].pending is None:
            stack[-1].pending = node
        else:
            stack[-1].pairs.append((stack[-1].pending, node))
            stack[-1].pending = None

    for event in yaml.parse(text, Loader=yaml.BaseLoader):
        start: Any = getattr(event, "start_mark", None)
        end: Any = getattr(event, "end_mark", None)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            kind = "mapping" if isinstance(event, yaml.MappingStartEvent) else "sequence"
            node = Node(kind, start.index, start.index, flow=bool(event.flow_style))
            attach(node)
            stack.append(node)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node = stack.pop()
            children = [v for _, v in node.pairs] + node.items
            node.end = end.index if node.flow else max((c.end for c in children), default=node.start)
        elif isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
            span = text[start.index:end.index]
            node = Node("scalar" if isinstance(event, yaml.ScalarEvent) else "alias", start.index,
                        start.index + len(span.rstrip()), value=getattr(event, "value", "") or "")
            attach(node)
    if root is None:
        raise EditError("the document is empty")
    return root


def same(a, b) -> bool:
    """JSON equality (true is not 1)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class Editor:
    def __init__(self, text: str):
        self.text = text
        self.root = parse(text)
        self.edits: list = []  # (start, end, order, replacement)

    # positions
    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def line_end(self, index: int) -> int:
        found = self.text.find("\n", index)
        return len(self.text) if found < 0 else found

    def column(self, index: int) -> int:
        return index - self.line_start(index)

    def _edit(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, len(self.edits), replacement))

    def result(self) -> str:
        out, position = [], 0
        crlf = "\r\n" in self.text  # new lines end the way the file's lines do
        for start, end, _, replacement in sorted(self.edits):
            if start < position:
                raise EditError("two edits overlap")
            if crlf:
                replacement = replacement.replace("\r\n", "\n").replace("\n", "\r\n")
            out.append(self.text[position:start])
            out.append(replacement)
            position = end
        out.append(self.text[position:])
        return "".join(out)

    # lookups
    @staticmethod
    def find(mapping: Node, key: str):
        for key_node, value_node in mapping.pairs:
            if key_node.kind == "scalar" and key_node.value == key:
                return key_node, value_node
        return None

    # edits
    def set_key(self, mapping: Node, key: str, old, new, before=(), block=False) -> None:
        """Give `key` the value `new` (`old` is its current value, None when absent). A new
        key goes before the first of `before` the mapping has, else after its last key."""
        found = self.find(mapping, key)
        if found is None:
            self.insert(mapping, key, new, before, block)
        elif not same(old, new):
            key_node, value_node = found
            self._set_value(key_node, value_node, old, new)

    def delete_key(self, mapping: Node, key: str) -> None:
        found = self.find(mapping, key)
        if found is None:
            return
        if mapping.flow:
            raise EditError("the mapping is written in flow style ({...})")
        key_node, value_node = found
        self._edit(self.line_start(key_node.start), min(self.line_end(value_node.end) + 1, len(self.text)), "")

    def insert(self, mapping: Node, key: str, value, before=(), block=False) -> None:
        if mapping.flow or not mapping.pairs:
            raise EditError("the mapping is written in flow style ({...})")
        indent = self.column(mapping.pairs[0][0].start)
        writer = Writer(block_paths={(key,)} if block and isinstance(value, dict) and value else ())
        writer.mapping({key: value}, indent, ())
        lines = "\n".join(writer.lines) + "\n"
        anchor = next((found for name in before if (found := self.find(mapping, name)) is not None), None)
        if anchor is not None:
            self._edit(*(2 * (self._above_comments(anchor[0].start),)), lines)
            return
        end = self.line_end(mapping.pairs[-1][1].end)
        if end == len(self.text):
            self._edit(end, end, "\n" + lines.rstrip("\n"))
        else:
            self._edit(end + 1, end + 1, lines)

    def _above_comments(self, key_start: int) -> int:
        """The start of the comment lines right above a key (they belong to it), or of its line."""
        position = self.line_start(key_start)
        while position > 0:
            previous = self.line_start(position - 1)
            if not self.text[previous:position].strip().startswith("#"):
                break
            position = previous
        return position

    def _set_value(self, key_node: Node, node: Node, old, new) -> None:
        if node.kind == "mapping" and not node.flow and isinstance(old, dict) and isinstance(new, dict) and new:
            for name, value in new.items():
                self.set_key(node, name, old.get(name), value)
            for name in old:
                if name not in new:
                    self.delete_key(node, name)
            return
        if (node.kind == "sequence" and not node.flow and isinstance(old, list) and isinstance(new, list)
                and len(old) == len(new) == len(node.items)
                and all(isinstance(v, dict) and v for v in old + new)
                and all(i.kind == "mapping" and not i.flow for i in node.items)):
            for item, before, after in zip(node.items, old, new):
                if not same(before, after):
                    self._set_value(key_node, item, before, after)
            return
        self._replace(key_node, node, new)

    def _replace(self, key_node: Node, node: Node, new) -> None:
        inline = flow(new)
        collection = isinstance(new, (dict, list)) and new
        if node.kind in ("scalar", "alias") or node.flow:
            used = node.start - self.line_start(node.start)
            if not collection or used + len(inline) <= WIDTH:
                self._edit(node.start, node.end, inline)
                return
            lines = self._block(new, self.column(key_node.start) + 2)
            self._edit(key_node.end, node.end, ":\n" + "\n".join(lines))
            return
        if not collection:
            self._edit(key_node.end, node.end, ": " + inline)
            return
        column = self.column(node.start)
        lines = self._block(new, column)
        lines[0] = lines[0][column:]
        self._edit(node.start, node.end, "\n".join(lines))

    @staticmethod
    def _block(value, indent: int) -> list:
        writer = Writer(block_paths={()})
        if isinstance(value, dict):
            writer.mapping(value, indent, ())
        else:
            writer.sequence(value, indent, ())
        return writer.lines

"""What one manifest field means, for `triton-gitops explain FIELD`.

A field is named by its path in models.yaml, dot-separated: `targets.*.url`,
`models.*.dynamic_batching.max_queue_delay_microseconds`. Inside a model entry the
`models.*.` prefix may be left out (`instance_group.kind`). `*` stands for a key the user
picks (a model, target, version or parameter name); a concrete key (`targets.prod.url`) or
a list index (`input[0].dims`) reads the same. Everything comes from the manifest's schema
(compiler/manifest/schema.py), so `explain` says what editors show and `validate` checks;
the proto type and the value of a left-out field come from the ModelConfig descriptor.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Optional, Union

import yaml
from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.errors import FatalError, clip, printable
from compiler.manifest.docs import Releases, added_in, enum_value_docs
from compiler.manifest.schema import build_schema
from compiler.proto import ModelConfig, is_repeated, model_config_pb2

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from google.protobuf.descriptor import FieldDescriptor

MODEL_PREFIX = ("models", "*")
# Map keys in examples: what a user would write there.
_KEY_EXAMPLES = {"models": "my_model", "targets": "prod", "versions": 1, "files": "labels.txt",
                 "priority_queue_policy": 1, "parameters": "KEY", "inputs": "INPUT0", "input": "INPUT0",
                 "input_map": "INPUT0", "output_map": "OUTPUT0", "metric_tags": "team"}
_PROTO_TYPES = {getattr(FD, name): name[len("TYPE_"):].lower() for name in dir(FD)
                if name.startswith("TYPE_") and name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")}
_ZERO = {FD.TYPE_BOOL: False, FD.TYPE_STRING: "", FD.TYPE_BYTES: "", FD.TYPE_FLOAT: 0.0, FD.TYPE_DOUBLE: 0.0}
_INDEX = re.compile(r"\[[^\]]*\]")
_MAX_FIELD_CHARS = 300


@dataclass
class Explanation:
    field: str  # canonical path: models.*.dynamic_batching.max_queue_delay_microseconds
    description: str
    type: str
    required: bool
    default: Union[bool, int, float, str, list, None]  # the value a left-out field has (proto3 zero value); None when there is none
    example: str  # a models.yaml snippet
    proto: str = ""  # the proto field's full name; "" for the manifest's own keys
    proto_type: str = ""
    added_in: str = ""  # the Triton release that added it, when a release table says
    values: dict = dataclasses.field(default_factory=dict)  # enum value -> Triton's text
    keys: list = dataclasses.field(default_factory=list)  # the keys of a mapping
    short_forms: list = dataclasses.field(default_factory=list)  # other spellings the manifest accepts

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Node:
    parts: tuple  # canonical path parts, "*" for a key the user picks
    schema: dict  # the property's own schema (description, $ref, ...)
    proto: Optional[FieldDescriptor] = None  # FieldDescriptor when this is a ModelConfig field
    required: bool = False
    short_forms: list = dataclasses.field(default_factory=list)  # schemas of other spellings
    keys_given: tuple = ()  # the concrete keys the user typed for "*" parts (None where not)


class _Schema:
    """The schema with its $refs followed, and the proto message behind each definition."""

    def __init__(self, schema: dict):
        self.root = schema
        self.defs = schema["$defs"]

    def deref(self, schema: dict) -> dict:
        seen = set()
        while "$ref" in schema and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            schema = self.defs[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def message(self, schema: dict):
        """The proto message a property's value is (through lists and short forms), or None."""
        if isinstance(schema.get("items"), dict):
            return self.message(schema["items"])
        for branch in schema.get("anyOf", ()):
            if self.message(branch) is not None:
                return self.message(branch)
        ref = schema.get("$ref")
        if ref is None:
            return None
        name = ref.rsplit("/", 1)[-1]
        if name in ("model", "defaults"):
            return ModelConfig.DESCRIPTOR
        try:
            return model_config_pb2.DESCRIPTOR.pool.FindMessageTypeByName(name)
        except KeyError:
            return None

    def branches(self, schema: dict) -> list:
        """The object forms of a property's value: a list's items, every anyOf branch, the
        full (proto) form first."""
        schema = self.deref(schema)
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            return self.branches(schema["items"])
        if "anyOf" in schema:
            out = []
            for branch in reversed(schema["anyOf"]):
                out += self.branches(branch)
            return out
        return [schema]

    def children(self, node: _Node) -> tuple:
        """({key: (schema, required, other spellings)}, value schema of a map or None)."""
        named: dict = {}
        wildcard = None
        for branch in self.branches(node.schema):
            for key, schema in (branch.get("properties") or {}).items():
                if key in named:
                    named[key][2].append(schema)
                else:
                    named[key] = (schema, key in branch.get("required", ()), [])
            extra = branch.get("additionalProperties")
            if wildcard is None and isinstance(extra, dict):
                wildcard = extra
        return named, wildcard

    def step(self, node: _Node, key: str):
        """The child `key` of `node` (a named key, or a key of a map), or None."""
        named, wildcard = self.children(node)
        message = self.message(node.schema)
        if key in named:
            schema, required, others = named[key]
            proto = message.fields_by_name.get(key) if message is not None else None
            return _Node(node.parts + (key,), schema, proto, required, others, node.keys_given + (None,))
        if wildcard is not None:
            given = None if key == "*" else key
            return _Node(node.parts + ("*",), wildcard, None, False, [], node.keys_given + (given,))
        return None


def _root(schema: _Schema) -> _Node:
    return _Node((), schema.root)


def _split(text: str) -> list:
    parts = _INDEX.sub("", text.strip()).split(".")
    if not text.strip() or any(not p for p in parts):
        raise FatalError(f"{_quote(text)} is not a field path",
                         "name a field with dots, e.g. dynamic_batching.max_queue_delay_microseconds "
                         "or targets.*.url; `triton-gitops explain --list` lists them all")
    return parts


def _quote(text: str) -> str:
    return repr(clip(printable(text), 200))


def _resolve(schema: _Schema, text: str) -> _Node:
    parts = _split(text)
    root = _root(schema)
    start = root if parts[0] in root.schema["properties"] else schema.step(schema.step(root, "models"), "*")
    node = start
    for index, part in enumerate(parts):
        child = schema.step(node, part)
        if child is None:
            raise _unknown(schema, text, node, part, parts[index + 1:], top=node is start and start is not root)
        node = child
    return node


def _unknown(schema: _Schema, text: str, node: _Node, part: str, rest: list, top: bool) -> FatalError:
    named, _ = schema.children(node)
    where = "neither the top level of models.yaml nor a model (models.*)" if top else _display(node.parts)
    if not named:
        return FatalError(f"unknown field {_quote(text)}: {where} has no keys",
                          "`triton-gitops explain --list` lists every field")
    suggestions = [p for p in field_paths(schema.root) if p.endswith("." + ".".join([part] + rest))]
    close = difflib.get_close_matches(part, list(named), n=1, cutoff=0.6) if len(part) < 200 else []
    if close:
        suggestions.insert(0, _display(_short(node.parts + (close[0],) + tuple(rest))))
    if not suggestions:
        suggestions = difflib.get_close_matches(text.strip(), field_paths(schema.root), n=3, cutoff=0.6) \
            if len(text) < 200 else []
    hint = f"did you mean {' or '.join(dict.fromkeys(suggestions[:3]))}?" if suggestions else \
        "`triton-gitops explain --list` lists every field"
    keys = f"{', '.join(sorted(named))}" + (f"; top level: {', '.join(schema.root['properties'])}" if top else "")
    verb = "has a key" if top else "has no key"  # "neither ... nor ... has a key"
    return FatalError(f"unknown field {_quote(text)}: {where} {verb} {_quote(part)} (keys: {keys})", hint)


def _display(parts) -> str:
    return ".".join(str(p) for p in parts)


def _short(parts: tuple) -> tuple:
    """Model fields are listed without their `models.*.` prefix."""
    return parts[2:] if parts[:2] == MODEL_PREFIX and len(parts) > 2 else parts


def field_paths(schema: Optional[dict] = None) -> list:
    """Every field path, as `explain` takes it: the manifest's keys, then each model field
    without its `models.*.` prefix (those under `defaults` are the same fields again)."""
    walker = _Schema(schema or build_schema())
    out: list = []

    def walk(node: _Node, trail: tuple) -> None:
        named, wildcard = walker.children(node)
        for key in list(named) + (["*"] if wildcard is not None else []):
            child = walker.step(node, key)
            if child.parts[:1] == ("defaults",) and len(child.parts) > 1:
                continue
            if child.parts[:1] == ("models",) and child.parts[2:3] == ("configs",) and len(child.parts) > 4:
                continue  # a variant's fields are the model's fields again
            ref = child.schema.get("$ref") or (child.schema.get("items") or {}).get("$ref")
            if ref in trail:  # a message that contains itself
                continue
            out.append(_display(_short(child.parts)))
            walk(child, trail + ((ref,) if ref else ()))

    walk(_root(walker), ())
    return list(dict.fromkeys(out))


# -- what the answer says ------------------------------------------------------------------


def _type_text(walker: _Schema, schema: dict) -> str:
    if "$ref" in schema:
        target = walker.deref(schema)
        if "anyOf" in target:
            return _type_text(walker, target)
        message = walker.message(schema)
        return f"mapping ({message.name})" if message is not None else "mapping"
    if "anyOf" in schema:
        return " or ".join(dict.fromkeys(_type_text(walker, b) for b in schema["anyOf"]))
    if "const" in schema:
        return f"the constant {schema['const']!r}"
    if "enum" in schema:
        names = schema["enum"]
        if len(names) == 1:
            return repr(names[0])
        return "one of " + ", ".join(names) if len(names) <= 6 else f"one of {len(names)} names (values below)"
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_text(walker, schema.get('items') or {})}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"mapping of names to {_type_text(walker, schema['additionalProperties'])}"
    if kind == "object":
        return "mapping"
    if isinstance(kind, list):
        return " or ".join(kind)
    return kind or "any value"


def _proto_type(proto) -> str:
    if proto.message_type is not None and proto.message_type.GetOptions().map_entry:
        key, value = proto.message_type.fields_by_name["key"], proto.message_type.fields_by_name["value"]
        return f"map<{_proto_type(key)}, {_proto_type(value)}>"
    if proto.message_type is not None:
        name = proto.message_type.name
    elif proto.enum_type is not None:
        name = proto.enum_type.name
    else:
        name = _PROTO_TYPES.get(proto.type, "?")
    return f"repeated {name}" if is_repeated(proto) else name


def _default(proto):
    """What Triton reads for a field the config leaves out: proto3's zero value."""
    if proto is None:
        return None
    if proto.message_type is not None and proto.message_type.GetOptions().map_entry:
        return {}
    if is_repeated(proto):
        return []
    if proto.message_type is not None:
        return None
    if proto.enum_type is not None:
        return proto.enum_type.values_by_number[0].name
    return _ZERO.get(proto.type, 0)


def _example_value(walker: _Schema, schema: dict, name: str = "", depth: int = 0):
    """A value for the property `name` that the schema accepts."""
    if schema.get("examples"):
        return schema["examples"][0]
    if "const" in schema:
        return schema["const"]
    if depth > 8:
        return {}
    if "$ref" in schema:
        return _example_value(walker, walker.deref(schema), name, depth + 1)
    if "anyOf" in schema:
        return _example_value(walker, schema["anyOf"][0], name, depth + 1)
    if "enum" in schema:
        names = schema["enum"]
        # The zero value is what a left-out field reads as; show something else.
        return "FP32" if "FP32" in names else names[1] if len(names) > 1 else names[0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "array":
        return [_example_value(walker, schema.get("items") or {}, name, depth + 1)]
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and not schema.get("properties"):
            return {_KEY_EXAMPLES.get(name, "name"): _example_value(walker, extra, "", depth + 1)}
        properties = schema.get("properties") or {}
        return {key: _example_value(walker, properties[key], key, depth + 1) for key in schema.get("required", ())}
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    examples: dict = {"number": 0.5, "boolean": True, "string": "example"}
    return examples.get(kind, "example")


class _Dumper(yaml.SafeDumper):
    """As models.yaml is written: lists indented under their key, short lists of plain
    values in flow style (`dims: [3, 224, 224]`)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)

    def represent_list(self, data):
        flow = all(not isinstance(item, (dict, list)) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _Dumper.represent_list)


def _example(walker: _Schema, node: _Node) -> str:
    value = _example_value(walker, node.schema, node.parts[-1])
    for depth in range(len(node.parts) - 1, -1, -1):
        part = node.parts[depth]
        if part == "*":
            given = node.keys_given[depth]
            map_name = node.parts[depth - 1] if depth else ""
            part = given if given is not None else _KEY_EXAMPLES.get(map_name, "name")
            part = int(part) if isinstance(part, str) and part.isdigit() else part  # `3:`, as people write it
        parent = _node_at(walker, node, depth)
        if depth:  # keys the mapping cannot go without (a target's url beside its storage_options)
            form = walker.branches(parent.schema)[0]
            value = {key: _example_value(walker, form["properties"][key], key)
                     for key in form.get("required", ()) if key != part} | {part: value}
        else:
            value = {part: value}
        if depth and walker.deref(parent.schema).get("type") == "array":
            value = [value]
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _node_at(walker: _Schema, node: _Node, depth: int) -> _Node:
    """The node of the first `depth` parts of `node`'s path."""
    current = _root(walker)
    for part in node.parts[:depth]:
        current = walker.step(current, part)
    return current


def _description(walker: _Schema, node: _Node) -> str:
    for schema in [node.schema] + [walker.deref(node.schema)] + walker.branches(node.schema):
        if str(schema.get("description", "")).strip():
            return schema["description"]
    if len(node.parts) > 1:  # a map's value without words of its own: the map's
        return _description(walker, _node_at(walker, node, len(node.parts) - 1))
    return ""


def _short_forms(walker: _Schema, node: _Node) -> list:
    out = [s["description"] for s in node.short_forms if s.get("description")]
    target = walker.deref(node.schema)
    for branch in (target.get("anyOf") or [])[:-1]:
        if branch.get("description"):
            out.append(branch["description"])
        for key, schema in (branch.get("properties") or {}).items():
            if schema.get("description"):
                out.append(f"{key}: {schema['description']}")
    return out


def explain(text: str, releases: Releases = None, schema: Optional[dict] = None) -> Explanation:
    """The answer for one field path; FatalError (with a did-you-mean) for an unknown one.
    `releases` is the table of compiler/manifest/docs.py, when there is one."""
    if len(text) > _MAX_FIELD_CHARS:
        raise FatalError(f"{_quote(text)} is too long for a field path", "`triton-gitops explain --list` lists them")
    walker = _Schema(schema or build_schema(releases))
    node = _resolve(walker, text)
    proto = node.proto
    values = dict.fromkeys(walker.deref(node.schema).get("enum", ()), "")
    enum = proto.enum_type if proto is not None else None
    if enum is not None and enum is not model_config_pb2.DataType.DESCRIPTOR:
        # DataType's values have no text of their own, and the schema adds the short forms (FP32).
        values = enum_value_docs(enum)
    named, _ = walker.children(node)
    return Explanation(
        field=_display(node.parts),
        description=_description(walker, node),
        type=_type_text(walker, node.schema),
        required=node.required,
        default=_default(proto),
        example=_example(walker, node),
        proto=proto.full_name if proto is not None else "",
        proto_type=_proto_type(proto) if proto is not None else "",
        added_in=added_in(proto.full_name, releases) if proto is not None else "",
        values=values,
        keys=list(named),
        short_forms=_short_forms(walker, node),
    )

"""A yes/no JSON Schema check, compiled once into nested closures.

jsonschema walks a 1,000-model manifest in ~0.3 s because every step builds error
context it may never report. Nearly every manifest is valid, so validation asks this
checker first and runs jsonschema (for located, re-worded problems) only when it says no.

It must never be more lenient than jsonschema: a "yes" skips the detailed pass. So it
implements exactly the keywords `compiler.manifest.schema` emits, with Draft 2020-12
meanings, and refuses to compile a schema that uses any other keyword. Being stricter by
mistake would only cost the slow pass. tests/manifest/test_fastcheck.py compares the two
on every fixture and on generated documents.
"""
from __future__ import annotations

import functools
import re

from compiler.manifest.schema import build_schema

# Keywords that carry no validation.
_ANNOTATIONS = {"description", "title", "$schema", "$id", "$defs", "default", "examples"}
_SUPPORTED = _ANNOTATIONS | {
    "$ref", "type", "enum", "const", "properties", "additionalProperties", "propertyNames", "required",
    "minProperties", "maxProperties", "items", "maxItems", "minimum", "maximum", "minLength", "pattern",
    "allOf", "anyOf", "not",
}


@functools.cache
def python_regex(pattern: str):
    """A JSON Schema (ECMA-262) pattern for `re`: there `$` is the end of the string, whereas
    Python's `$` also matches before a final newline, which let "name\n" through `^...$`."""
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _is_integer(value) -> bool:
    # jsonschema counts 1.0 as an integer, and a bool as neither integer nor number.
    return (type(value) is int) or (type(value) is float and value.is_integer())


_TYPES = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def _equal(a, b) -> bool:
    """JSON equality: unlike Python's, true is not 1 and 1.0 is 1."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b
    return type(a) is type(b) and a == b


class _Compiler:
    def __init__(self, root: dict):
        self.root = root
        self.refs: dict = {}  # "$ref" -> compiled check, filled lazily (definitions are recursive)

    def ref(self, pointer: str):
        if pointer not in self.refs:
            if not pointer.startswith("#/"):
                raise ValueError(f"unsupported $ref {pointer!r}")
            self.refs[pointer] = None  # a cycle resolves through the late lookup below
            node = self.root
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            self.refs[pointer] = self.compile(node)
        refs = self.refs
        return lambda v: refs[pointer](v)

    def compile(self, schema):
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        unknown = set(schema) - _SUPPORTED
        if unknown:
            raise ValueError(f"fastcheck does not implement {sorted(unknown)}")
        checks = []
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"]))
        if "type" in schema:
            kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            tests = [_TYPES[k] for k in kinds]
            checks.append(lambda v: any(t(v) for t in tests))
        if "enum" in schema:
            options = schema["enum"]
            if all(type(o) is str for o in options):
                names = frozenset(options)
                checks.append(lambda v: type(v) is str and v in names)
            else:
                checks.append(lambda v: any(_equal(v, o) for o in options))
        if "const" in schema:
            constant = schema["const"]
            checks.append(lambda v: _equal(v, constant))
        checks += self.object_checks(schema) + self.array_checks(schema) + self.scalar_checks(schema)
        for key, combine in (("allOf", all), ("anyOf", any)):
            if key in schema:
                parts = [self.compile(s) for s in schema[key]]
                checks.append(lambda v, parts=parts, combine=combine: combine(p(v) for p in parts))
        if "not" in schema:
            negated = self.compile(schema["not"])
            checks.append(lambda v: not negated(v))
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def object_checks(self, schema) -> list:
        checks = []
        properties = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True else self.compile(extra)
        if properties or extra_check is not None:
            def members(v):
                if type(v) is not dict:
                    return True
                for key, value in v.items():
                    check = properties.get(key, extra_check)
                    if check is not None and not check(value):
                        return False
                return True
            checks.append(members)
        if "propertyNames" in schema:
            names = self.compile(schema["propertyNames"])
            checks.append(lambda v: type(v) is not dict or all(names(k) for k in v))
        if "required" in schema:
            required = list(schema["required"])
            checks.append(lambda v: type(v) is not dict or all(k in v for k in required))
        low, high = schema.get("minProperties"), schema.get("maxProperties")
        if low is not None or high is not None:
            low, high = low or 0, high if high is not None else float("inf")
            checks.append(lambda v: type(v) is not dict or low <= len(v) <= high)
        return checks

    def array_checks(self, schema) -> list:
        checks = []
        if "items" in schema:
            item = self.compile(schema["items"])
            checks.append(lambda v: type(v) is not list or all(item(x) for x in v))
        if "maxItems" in schema:
            most = schema["maxItems"]
            checks.append(lambda v: type(v) is not list or len(v) <= most)
        return checks

    def scalar_checks(self, schema) -> list:
        checks = []
        number = _TYPES["number"]
        if "minimum" in schema:
            low = schema["minimum"]
            checks.append(lambda v: not number(v) or v >= low)
        if "maximum" in schema:
            high = schema["maximum"]
            checks.append(lambda v: not number(v) or v <= high)
        if "minLength" in schema:
            shortest = schema["minLength"]
            checks.append(lambda v: type(v) is not str or len(v) >= shortest)
        if "pattern" in schema:
            search = python_regex(schema["pattern"]).search
            checks.append(lambda v: type(v) is not str or search(v) is not None)
        return checks


def compile_check(schema: dict):
    """A function value -> bool that agrees with jsonschema's Draft 2020-12 `is_valid`."""
    return _Compiler(schema).compile(schema)


@functools.lru_cache(maxsize=1)
def manifest_check():
    return compile_check(build_schema())


def is_valid(data) -> bool:
    return manifest_check()(data)

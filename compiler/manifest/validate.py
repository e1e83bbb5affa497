"""JSON Schema validation of a loaded manifest, reported as located problems.

jsonschema's messages are written for schema authors; here each kind of failure is
re-worded for the person editing models.yaml, with a "did you mean" where a typo is
the likely cause. All failures are collected; none stops the run.
"""
from __future__ import annotations

import difflib
import functools
import re

import jsonschema

from compiler.errors import Problem
from compiler.manifest.fastcheck import python_regex
from compiler.manifest.schema import VERSION_PATTERN, build_schema

_NAME_RULE = "letters, digits, '_', '.' and '-' only"
# difflib indexes every character of the word: a 15 MB key would cost ~600 MB to compare.
_MAX_SUGGEST_CHARS = 200


def _ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not python_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.lru_cache(maxsize=1)
def _validator():
    schema = build_schema()
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})
    return cls(schema, format_checker=None)


def _suggest(word, choices) -> str:
    if len(str(word)) > _MAX_SUGGEST_CHARS:
        return ""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _type_name(value) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "mapping", type(None): "null"}.get(type(value), type(value).__name__)


def _schema_types(schema) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    return {"object": "mapping", "array": "list"}.get(kind, kind or "a value")


def _problems_for(error) -> list:
    path = tuple(error.absolute_path)
    kind, schema, value = error.validator, error.schema, error.instance
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        out = []
        for key in value:
            if key in allowed:
                continue
            hint = _suggest(key, allowed) or ("allowed here: " + ", ".join(allowed[:12]) + ("..." if len(allowed) > 12 else ""))
            out.append(Problem(f"unknown key {key!r}", "schema-unknown-key", path + (key,), hint=hint))
        return out
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at the path of its mapping, with the key as instance.
        if schema.get("pattern") == VERSION_PATTERN:
            return [Problem(f"version {value!r} must be 0 or a positive integer without leading zeros (at most 19 "
                            "digits)",
                            "version-number",
                            path + (value,), hint="Triton ignores version folders it cannot read as such a number")]
        if path[-1:] == ("files",):
            return [Problem(f"file name {value!r} is not allowed: a relative path of {_NAME_RULE}, "
                            "without '.' or '..' parts", "file-name", path + (value,),
                            hint="name the file as it should appear inside the model folder")]
        return [Problem(f"name {value!r} is not allowed: {_NAME_RULE}, not starting with '.', at most 200 "
                        "characters", "schema-name", path + (value,),
                        hint="rename it; Triton uses the name as a folder name")]
    if kind == "enum":
        hint = _suggest(value, schema["enum"]) or ("one of: " + ", ".join(map(str, schema["enum"][:20])))
        return [Problem(f"{value!r} is not a valid value here", "schema-enum", path, hint=hint)]
    if kind == "type":
        return [Problem(f"expected {_schema_types(schema)}, got {_type_name(value)} {value!r}"[:200],
                        "schema-type", path)]
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [Problem(f"missing required key {missing!r}", "schema-required", path)]
    if kind == "const":
        return [Problem(f"must be {schema['const']!r}, got {value!r}", "schema-const", path)]
    if kind == "not" and "description" in schema:
        return [Problem(schema["description"], "schema-oneof", path, hint="keep only one of them")]
    if kind == "anyOf" and _is_removable(schema):
        # A config variant's field: null (remove it) or the field's own schema. A value that is
        # not null was meant for the field: report what the field's schema says about it.
        meant = [e for e in error.context if e.relative_schema_path[0] == 1]
        return [p for e in meant for p in _problems_for(e)]
    if kind in ("anyOf", "oneOf"):
        # Report the alternative that got furthest (deepest path), which is usually what was meant.
        # Alternatives rejected only for their type at this very spot are the ones not meant.
        # Of the rest, the alternative with the fewest (and least "wrong type") complaints is
        # the one the author was writing.
        branches: dict = {}
        for e in error.context:
            if e.relative_path or e.validator not in ("type", "enum", "const"):
                branches.setdefault(e.relative_schema_path[0], []).append(e)
        if branches:
            def score(errs):
                return (len(errs), sum(e.validator == "type" for e in errs), -max(len(e.relative_path) for e in errs))
            best = min(branches.values(), key=score)
            return [p for e in best for p in _problems_for(e)]
        kinds = sorted({_schema_types(alt) if "type" in alt else "one of " + ", ".join(map(str, alt.get("enum", [])))
                        for alt in schema[kind] if "type" in alt or "enum" in alt})
        return [Problem(f"expected {' or '.join(kinds)}, got {_type_name(value)} {value!r}"[:200], "schema-type", path)]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = schema[kind]
        return [Problem(f"{value!r} is out of range ({kind} {bound})", "schema-range", path)]
    if kind == "maxItems":
        return [Problem(f"{len(value):,} entries; at most {schema['maxItems']} are allowed here", "schema-max-items",
                        path, hint="a tensor has at most 64 dimensions")]
    if kind == "pattern":
        return [Problem(f"{value!r} does not match the pattern {schema['pattern']}", "schema-pattern", path)]
    # Rule names are kebab-case like every other: minLength -> schema-min-length.
    return [Problem(error.message[:300], "schema-" + re.sub(r"(?<=[a-z])(?=[A-Z])", "-", kind).lower(), path)]


def _is_removable(schema) -> bool:
    branches = schema.get("anyOf") or []
    return len(branches) == 2 and branches[0].get("type") == "null"


def schema_problems(data) -> list:
    """Every schema violation in `data`, as problems with document paths (not yet located)."""
    problems = []
    seen = set()
    for error in _validator().iter_errors(data):
        for problem in _problems_for(error):
            key = (problem.path, problem.message)
            if key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


def is_key_problem(problem: Problem) -> bool:
    """Unknown keys and bad names point at the key, not at its value."""
    return problem.rule in ("schema-unknown-key", "schema-name", "file-name", "version-number")

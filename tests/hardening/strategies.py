"""Hypothesis strategies for hostile manifests: three families, each ending in the bytes of a file.

- `mutated_example()`: the repository's `models.yaml` with 1-4 structural mutations (a value
  replaced by one of another type, a key deleted, added or renamed, huge/negative numbers,
  unicode and control characters in names and values, deep nesting), serialised as block
  YAML, flow YAML or JSON.
- `small_manifest()`: a manifest of 0-3 models generated from the manifest's own JSON Schema
  (so every field, enum and oneof of ModelConfig can appear), each grafted on a model that
  would compile, with noise of any type mixed in at every level.
- `one_hostile_manifest()`: a valid one-model manifest with a single hostile value in one
  slot that becomes a folder, a file or a config line (model name, files key or source,
  version key or source, default_model_filename, label_filename, tensor name, warmup data...),
  so that the value reaches the code behind validation.
- `raw_bytes()`: either family serialised and then damaged as bytes (truncated, invalid UTF-8,
  tabs, BOMs, NULs, stray YAML syntax, CR/LF changes, UTF-16), or arbitrary bytes.
"""
from __future__ import annotations

import copy
import functools
import json

import yaml
from hypothesis import strategies as st

from tests.helpers import REPO

# --- leaves --------------------------------------------------------------------------------

# No path here names anything outside the workspace's folder that exists: a version source of
# "/" would copy the whole file system (test_attacks covers sources outside the manifest).
HOSTILE_NAMES = [
    "..", ".", "../x", "x/..", "a/b", "/nonexistent", "//nonexistent", "a\x00b", "C:\\x", "C:foo",
    "\\\\server\\share", "a\\b",
    "m\n", "\nm", " m", "m ", "con", "NUL", "~", "$HOME", "${HOME}", "*", "-", "--help", "é", "𝔘", "\u202egnp.exe",
    "\ufeffm", "\x1b[31m", "a" * 300, "config.pbtxt", "warmup", "configs", "1", "01", ".triton-gitops-compiled",
    ".git", "__pycache__", "labels.txt", "", "true", "null", "1e3", "0x10",
]
HOSTILE_STRINGS = HOSTILE_NAMES + [
    "x" * 5000, "\t", "\r\n", "\x7f", "\x85", "\u2028", "\U0010ffff", "\x00", "%", "!!python/object", "&a", "*a",
    "{", "[", "'", "\"", "#", "@", "`", "|", ">", "? ", "- ", ": ", "${UNSET_VARIABLE}", "$$", "\\", "/dev/null",
]
HOSTILE_NUMBERS = [
    0, -1, 1, 2, -2**31 - 1, -2**31, 2**31 - 1, 2**31, 2**32, -2**63 - 1, -2**63, 2**63 - 1, 2**63, 2**64 - 1,
    2**64, 10**30, -10**30, 10**100, 10**400, 1.0, -0.0, 0.5, 1e30, 1e308, float("inf"), float("-inf"), float("nan"),
]
SOURCES = [
    "src/m/1", "src/m/1/model.py", "src/labels.txt", "src", "examples/preprocess/1", "examples/text_classifier",
    "missing", "missing/model.py", "outside", "./src/m/1", "src//m/1", "src/m/1/", "/nonexistent/x",
    "file:///nonexistent/x",
]
VERSION_KEYS = ["1", "2", "3", "10", "01", "0", "-1", "1.0", "1e3", "+1", " 1", "1\n", "one",
                str(2**63 - 1), str(2**63), str(10**30)]

valid_names = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True)
names = st.one_of(valid_names, st.sampled_from(HOSTILE_NAMES), st.text(max_size=12))
keys = st.one_of(names, st.integers(-3, 3), st.sampled_from(["name", "data_type", "dims", "source", "backend",
                                                            "versions", "files", "models", "version", "<<"]))
numbers = st.one_of(st.sampled_from(HOSTILE_NUMBERS), st.integers(), st.floats())
strings = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=20),
                    st.text(st.characters(codec="utf-8", categories=("Cc", "Cf", "Zl", "Zp", "Zs", "So", "Lo")),
                            max_size=8))
scalars = st.one_of(st.none(), st.booleans(), numbers, strings)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


def nest(value, depth: int, kind: str):
    for i in range(depth):
        value = [value] if kind == "list" or (kind == "mixed" and i % 2) else {"k": value}
    return value


deep = st.builds(nest, values, st.integers(1, 150), st.sampled_from(["list", "dict", "mixed"]))

# --- structural mutations ------------------------------------------------------------------


def _paths(tree, path=()):
    yield path
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _paths(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _paths(v, path + (i,))


def _get(tree, path):
    for part in path:
        tree = tree[part]
    return tree


def _flip_type(node):
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return {str(i): v for i, v in enumerate(node)}
    if isinstance(node, str):
        return [node]
    return {"value": node}


OPS = ["replace", "delete", "add", "rename", "deep", "number", "string", "flip", "duplicate", "empty", "tweak",
       "tweak", "tweak"]


def _tweak(draw, node):
    """A value of the same type: mutations that often leave the manifest valid, reaching compile."""
    if isinstance(node, bool):
        return not node
    if isinstance(node, int):
        return draw(st.one_of(st.integers(-2, 16), st.sampled_from(HOSTILE_NUMBERS[:16])))
    if isinstance(node, float):
        return draw(st.floats())
    if isinstance(node, str):
        return draw(st.one_of(valid_names, st.sampled_from(["FP32", "INT8", "STRING", "BF16", "python", "ensemble",
                                                            "TEXT", "FEATURES", "PROBS", "features", "labels.txt"])))
    if isinstance(node, list):
        return draw(st.permutations(node)) if draw(st.booleans()) else node[:draw(st.integers(0, len(node)))]
    if isinstance(node, dict):
        keep = draw(st.lists(st.sampled_from(sorted(node, key=str)), unique=True)) if node else []
        return {k: node[k] for k in node if k in keep}
    return node


@st.composite
def mutate(draw, tree, max_mutations: int = 4):
    tree = copy.deepcopy(tree)
    rnd = draw(st.randoms(use_true_random=False))  # a uniform pick: sampled_from favours the first paths
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = list(_paths(tree))
        path = paths[0] if len(paths) == 1 or rnd.random() < 0.02 else rnd.choice(paths[1:])
        op = draw(st.sampled_from(OPS))
        node = _get(tree, path)
        parent = _get(tree, path[:-1]) if path else None
        if op == "delete" and parent is not None:
            del parent[path[-1]]
            continue
        if op == "add" and isinstance(node, dict):
            node[draw(keys)] = draw(values)
            continue
        if op == "add" and isinstance(node, list):
            node.insert(draw(st.integers(0, len(node))), draw(values))
            continue
        if op == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(path[-1])
            continue
        if op == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(draw(st.sampled_from(node))))
            continue
        new = {
            "deep": lambda: nest(node, draw(st.integers(1, 150)), draw(st.sampled_from(["list", "dict", "mixed"]))),
            "number": lambda: draw(numbers),
            "string": lambda: draw(strings),
            "flip": lambda: _flip_type(node),
            "empty": lambda: draw(st.sampled_from([{}, [], "", None])),
            "tweak": lambda: _tweak(draw, node),
        }.get(op, lambda: draw(values))()
        if parent is None:
            tree = new
        else:
            parent[path[-1]] = new
    return tree


@functools.lru_cache(maxsize=1)
def example_tree():
    """The example manifest as plain data (version keys as the strings the loader makes of them)."""
    data = yaml.safe_load((REPO / "models.yaml").read_text())

    def stringify(node):
        if isinstance(node, dict):
            return {(str(k) if isinstance(k, int) and not isinstance(k, bool) else k): stringify(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [stringify(v) for v in node]
        return node
    return stringify(data)


# --- serialisation -------------------------------------------------------------------------


def _yaml_text(tree, flow, unicode, width, indent) -> str:
    return yaml.safe_dump(tree, sort_keys=False, default_flow_style=flow, allow_unicode=unicode, width=width,
                          indent=indent)


@st.composite
def serialise(draw, tree) -> bytes:
    style = draw(st.sampled_from(["block", "flow", "auto", "json", "json-unicode"]))
    if style.startswith("json"):
        text = json.dumps(tree, ensure_ascii=style == "json", indent=draw(st.sampled_from([None, 1, 2])))
    else:
        flow = {"block": False, "flow": True, "auto": None}[style]
        text = _yaml_text(tree, flow, draw(st.booleans()), draw(st.sampled_from([80, 30, 10**6])),
                          draw(st.integers(2, 8)))
    return text.encode("utf-8")


@st.composite
def gently(draw, tree, max_changes: int = 3):
    """Changes that usually keep the manifest valid, so that compile runs on hostile values too:
    free-form strings (parameters, warmup names) with any unicode, small numbers, optional keys
    dropped, keys reordered."""
    tree = copy.deepcopy(tree)
    rnd = draw(st.randoms(use_true_random=False))
    models = tree["models"]
    for _ in range(draw(st.integers(1, max_changes))):
        name = rnd.choice(sorted(models))
        model = models[name]
        op = draw(st.sampled_from(["parameter", "warmup_name", "number", "drop", "reorder"]))
        if op == "parameter":
            value = draw(st.one_of(st.text(), st.sampled_from(HOSTILE_STRINGS), st.booleans(), st.integers(),
                                   st.floats(allow_nan=False, allow_infinity=False)))
            key = draw(st.one_of(st.text(min_size=1), st.sampled_from(HOSTILE_NAMES)))
            model.setdefault("parameters", {})[key] = value
        elif op == "warmup_name" and model.get("model_warmup"):
            model["model_warmup"][0]["name"] = draw(st.one_of(st.text(min_size=1), st.sampled_from(HOSTILE_STRINGS)))
        elif op == "number":
            key = rnd.choice(["max_batch_size", "priority_levels", "default_queue_policy"])
            if key == "max_batch_size":
                model[key] = draw(st.integers(0, 64))
            elif "dynamic_batching" in model:
                model["dynamic_batching"]["max_queue_delay_microseconds"] = draw(st.integers(0, 2**64 - 1))
        elif op == "drop":
            optional = [k for k in ("dynamic_batching", "model_warmup", "version_policy", "files", "max_batch_size")
                        if k in model]
            if optional:
                del model[rnd.choice(optional)]
        elif op == "reorder":
            keys_ = list(model)
            rnd.shuffle(keys_)
            models[name] = {k: model[k] for k in keys_}
    return tree


def mutated_example():
    tree = example_tree()
    return st.one_of(mutate(tree), gently(tree)).flatmap(serialise)


# --- manifests generated from the schema ---------------------------------------------------


@functools.lru_cache(maxsize=1)
def _schema():
    from compiler.manifest.schema import build_schema
    return build_schema()


def _boundary_ints(node):
    lo, hi = node.get("minimum"), node.get("maximum")
    edges = [0, 1, -1, 8]
    for bound in (lo, hi):
        if bound is not None:
            edges += [bound, bound - 1, bound + 1]
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges), st.integers(0, 4))


MAX_DEPTH = 4


@functools.cache
def _from_ref(ref: str, depth: int):
    return from_schema_node(_schema()["$defs"][ref.rsplit("/", 1)[1]], depth + 1)


def from_schema_node(node: dict, depth: int = 0):
    """Values that mostly fit `node` (a JSON Schema), with values of any type mixed in."""
    main = _fitting(node, depth)
    return st.one_of(main, main, main, main, main, main, scalars) if depth < MAX_DEPTH else main


def _fitting(node: dict, depth: int):
    if "$ref" in node:
        return _from_ref(node["$ref"], depth) if depth < MAX_DEPTH else st.just({})
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            return st.one_of([from_schema_node(alt, depth) for alt in node[combinator]])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([_fitting({**node, "type": k}, depth) for k in kind])
    if kind == "object":
        props = node.get("properties", {})
        extra = node.get("additionalProperties")
        parts = []
        if props:
            names_ = sorted(props)
            parts.append(st.lists(st.sampled_from(names_), max_size=3, unique=True).flatmap(
                lambda chosen: st.fixed_dictionaries({k: from_schema_node(props[k], depth + 1) for k in chosen})))
        if isinstance(extra, dict):
            key = st.one_of(valid_names, names)
            parts.append(st.dictionaries(key, from_schema_node(extra, depth + 1), max_size=3))
        return st.one_of(parts) if parts else st.just({})
    if kind == "array":
        items = node.get("items", {})
        inner = from_schema_node(items, depth + 1) if items else scalars
        return st.lists(inner, max_size=3)
    if kind == "integer":
        return _boundary_ints(node)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-5, 5))
    if kind == "string":
        return st.one_of(valid_names, strings) if "pattern" in node else st.one_of(st.text(max_size=10), strings)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return scalars


def _base_model(data_type: str = "FP32", source: str = "src/m/1") -> dict:
    """A model that compiles, for generated fields to be grafted on."""
    return {"backend": "python", "max_batch_size": 0,
            "input": [{"name": "X", "data_type": data_type, "dims": [2]}],
            "output": [{"name": "Y", "data_type": data_type, "dims": [2]}],
            "versions": {"1": {"source": source}}}


warmup_inputs = st.fixed_dictionaries(
    {"data_type": st.sampled_from(["FP32", "BF16", "FP16", "INT8", "UINT64", "BOOL", "STRING", "BYTES", "INT64"]),
     "dims": st.lists(st.one_of(st.integers(-1, 3), st.sampled_from([0, 10**6, 2**63 - 1])), max_size=3)},
    optional={"data": st.lists(st.one_of(numbers, strings, st.booleans(), st.lists(numbers, max_size=2)),
                               max_size=6),
              "file": st.sampled_from(SOURCES + HOSTILE_STRINGS[:10])})


@st.composite
def model_entry(draw, noisy: bool = True) -> dict:
    entry = _base_model(draw(st.sampled_from(["FP32", "INT32", "STRING", "BF16"])))
    generated = draw(_fitting({"$ref": "#/$defs/model"}, 0))
    if isinstance(generated, dict):
        entry.update(generated)
    if not noisy:
        if draw(st.booleans()):
            entry["files"] = {"labels.txt": "src/labels.txt"}
        if draw(st.booleans()):
            entry["versions"] = {str(v): {"source": draw(st.sampled_from(SOURCES[:5]))}
                                 for v in draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))}
        return entry
    if draw(st.booleans()):
        entry["versions"] = draw(st.dictionaries(
            st.one_of(st.sampled_from(VERSION_KEYS), st.integers(1, 5).map(str)),
            st.one_of(st.fixed_dictionaries({"source": st.sampled_from(SOURCES)},
                                            optional={"sha256": st.sampled_from(["0" * 64, "x", ""])}),
                      values), max_size=3))
    if draw(st.booleans()):
        entry["files"] = draw(st.dictionaries(st.one_of(st.sampled_from(["labels.txt", "a/b.txt", "x"]), names),
                                              st.one_of(st.sampled_from(SOURCES), scalars), max_size=3))
    if draw(st.integers(0, 3)) == 0:
        entry["model_warmup"] = [{"name": "w", "batch_size": draw(st.integers(0, 2)),
                                  "inputs": {"X": draw(warmup_inputs)}}]
    if draw(st.integers(0, 5)) == 0:
        entry[draw(st.sampled_from(sorted(entry)))] = draw(deep)
    return entry


@st.composite
def small_tree(draw) -> dict:
    noisy = draw(st.booleans())
    if not noisy:
        return {"version": 1, "models": draw(st.dictionaries(valid_names, model_entry(noisy=False), max_size=3))}
    doc = {"version": draw(st.one_of(st.just(1), st.just(1), st.just(1), scalars)),
           "models": draw(st.dictionaries(st.one_of(valid_names, names), model_entry(), max_size=3))}
    if draw(st.booleans()):
        doc["defaults"] = draw(_fitting({"$ref": "#/$defs/defaults"}, 1))
    if draw(st.integers(0, 3)) == 0:
        doc["external_models"] = draw(st.lists(names, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        doc["targets"] = draw(st.dictionaries(names, _fitting({"$ref": "#/$defs/target"}, 1), max_size=2))
    if draw(st.integers(0, 7)) == 0:
        doc[draw(keys)] = draw(values)
    return doc


# Slots of a valid model where one hostile value is injected (`one_hostile`): each is a name
# or path the compiler turns into a folder, a file or a line of config.pbtxt.
SLOTS = ["model-name", "files-key", "files-source", "version-key", "version-source", "default_model_filename",
         "label_filename", "tensor-name", "warmup-name", "warmup-value", "parameter", "platform", "backend",
         "warmup-file"]


# What a name or path slot must refuse (or survive): parent and root references, separators of
# every system, NUL, a trailing newline, parts longer than a file name.
PATHS = ["..", ".", "../x", "x/..", "a/../..", "a/b", "a//b", "/nonexistent/etc", "a\x00b", "C:\\x", "C:foo", "a\\b",
         "\\\\server\\share", "m\n", "a" * 300, "x" * 5000, "é" * 200, "con", "warmup", "config.pbtxt", "1"]


@st.composite
def one_hostile(draw) -> dict:
    """A valid one-model manifest with exactly one hostile value in one slot: reaches the code
    behind validation (build, rules, tree, render, writers) with that value."""
    data_type = draw(st.sampled_from(["FP32", "BF16", "FP16", "INT8", "UINT64", "STRING", "BOOL"]))
    source = draw(st.sampled_from(["src/m/1", "src/m/1/model.py"]))
    model = _base_model(data_type, source)
    model["max_batch_size"] = draw(st.sampled_from([0, 4]))
    model["files"] = {"labels.txt": "src/labels.txt"}
    name = "m"
    slot = draw(st.sampled_from(SLOTS))
    hostile = st.one_of(st.sampled_from(PATHS), st.sampled_from(HOSTILE_STRINGS), st.text(min_size=1, max_size=30))
    value = draw(hostile)
    if slot == "model-name":
        name = value
    elif slot == "files-key":
        model["files"] = {value: "src/labels.txt"}
    elif slot == "files-source":
        model["files"] = {"labels.txt": value}
    elif slot == "version-key":
        model["versions"] = {draw(st.one_of(st.sampled_from(VERSION_KEYS), hostile)): {"source": source}}
    elif slot == "version-source":
        model["versions"] = {"1": {"source": value}}
    elif slot in ("default_model_filename", "platform", "backend"):
        model[slot] = value
    elif slot == "label_filename":
        model["output"][0]["label_filename"] = value
        model["files"] = draw(st.sampled_from([{value: "src/labels.txt"}, {"labels.txt": "src/labels.txt"}]))
    elif slot == "tensor-name":
        model[draw(st.sampled_from(["input", "output"]))][0]["name"] = value
    elif slot == "parameter":
        model["parameters"] = {value: draw(st.one_of(hostile, numbers, st.booleans()))}
    else:
        sample = {"data_type": data_type, "dims": [2]}
        if slot == "warmup-file":
            sample["file"] = value
        else:
            element = draw(st.one_of(numbers, strings, st.booleans()))
            sample["data"] = [element, element]
        model["model_warmup"] = [{"name": value if slot == "warmup-name" else "w", "batch_size": 1,
                                  "inputs": {"X": sample}}]
    return {"version": 1, "models": {name: model}}


def small_manifest():
    return small_tree().flatmap(serialise)


def one_hostile_manifest():
    return one_hostile().flatmap(serialise)


# --- raw bytes -----------------------------------------------------------------------------

NASTY_BYTES = [
    b"\t", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xfe", b"\xc3", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
    b"\xc0\xaf", b"\r", b"\r\n", b"\xc2\x85", b"\xe2\x80\xa8", b"\x1b[31m", b"\x7f", b"\x0b", b"\x0c",
    b"---\n", b"...\n", b"%YAML 1.1\n", b"%TAG ! tag:x,2000:\n", b"&a ", b"*a", b"!!binary ", b"!!str ",
    b"!!python/object/apply:os.system ", b"<<: ", b"? ", b"- ", b": ", b"[", b"]", b"{", b"}", b",", b"'", b'"',
    b"|", b">", b"#", b"@", b"`", b"\\", b"\xf0\x9f\x92\xa9", b"1" * 5000, b"0x" + b"f" * 4000, b"[" * 2000,
]
BYTE_OPS = ["truncate", "insert", "delete", "flip", "dup_line", "swap_lines", "indent", "bom", "newlines"]


@st.composite
def damage(draw, raw: bytes, max_ops: int = 4) -> bytes:
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from(BYTE_OPS))
        at = draw(st.integers(0, len(raw)))
        lines = raw.split(b"\n")
        line = draw(st.integers(0, len(lines) - 1))
        if op == "truncate":
            raw = raw[:at]
        elif op == "insert":
            nasty = st.sampled_from(NASTY_BYTES)
            raw = raw[:at] + draw(st.one_of(nasty, nasty, nasty, st.binary(min_size=1, max_size=8))) + raw[at:]
        elif op == "delete":
            raw = raw[:at] + raw[at + draw(st.integers(1, 16)):]
        elif op == "flip" and raw:
            at = min(at, len(raw) - 1)
            raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1:]
        elif op == "dup_line":
            lines.insert(line, lines[line])
            raw = b"\n".join(lines)
        elif op == "swap_lines":
            other = draw(st.integers(0, len(lines) - 1))
            lines[line], lines[other] = lines[other], lines[line]
            raw = b"\n".join(lines)
        elif op == "indent":
            lines[line] = draw(st.sampled_from([b"\t", b" ", b"  ", b"\t ", b" \t"])) + lines[line]
            raw = b"\n".join(lines)
        elif op == "bom":
            raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + raw
        elif op == "newlines":
            raw = raw.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\xc2\x85", b"\xe2\x80\xa8", b"\n\n"])))
    return raw


def _utf16(raw: bytes) -> bytes:
    return raw.decode("utf-8").encode("utf-16")


def raw_bytes():
    base = st.one_of(st.just((REPO / "models.yaml").read_bytes()), mutated_example(), small_manifest())
    return st.one_of(
        base.flatmap(damage),
        base.flatmap(damage),
        base.flatmap(damage),
        base.map(_utf16),
        st.binary(max_size=200),
        st.binary(max_size=60).map(lambda b: b"version: 1\nmodels:\n  m: " + b),
    )

"""Turn a schema-valid model entry into the canonical `ModelConfig` dict.

Short forms are expanded here, driven by the descriptor so that every DataType field and
every parameters map is handled wherever it occurs:
- `FP32` -> `TYPE_FP32`;
- `parameters: {K: v}` -> `{K: {string_value: "v"}}` (bools as "true"/"false");
- `version_policy: all | {latest: N} | {specific: [..]}`;
- warmup input `data:`/`file:` are taken out (the compiler writes the raw file) and
  `input_data_file` is set to the generated name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.proto import ModelConfig, is_repeated

MANIFEST_ONLY_KEYS = ("files", "versions", "tuning", "configs")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass
class WarmupSource:
    """One warmup input whose raw file the compiler writes: literal `data` or a `file` to copy."""

    file_name: str  # under warmup/
    data_type: str  # canonical TYPE_*
    dims: list
    data: Optional[list]  # literal values, or None
    source: str  # path relative to the manifest, or ""
    path: tuple  # config path of the input, for problems
    local_path: Optional[Path] = None  # the resolved `source`, set while the manifest is built


def merge_defaults(defaults: dict, entry: dict) -> tuple:
    """Shallow merge: each top-level key comes from the model if it sets it, else from defaults.

    Returns the merged dict and the set of keys taken from defaults (for locating problems).
    """
    merged = dict(entry)
    inherited = set()
    for key, value in (defaults or {}).items():
        if key not in merged:
            merged[key] = value
            inherited.add(key)
    return merged, inherited


def _scalar_parameter(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _canonical(value, descriptor, path, warmups):
    """Recursively rewrite `value` (a dict for message `descriptor`) into ParseDict's form."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key)
        if field is None:
            out[key] = item  # ParseDict reports it; schema validation normally already did
            continue
        out[key] = _canonical_field(item, field, path + (key,), warmups)
    return out


def _canonical_field(item, field, path, warmups):
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        if not isinstance(item, dict):
            return item
        result = {}
        for k, v in item.items():
            if value_field.message_type is not None:
                if value_field.message_type.name == "ModelParameter" and not isinstance(v, dict):
                    v = {"string_value": _scalar_parameter(v)}
                elif value_field.message_type.full_name == "inference.ModelWarmup.Input":
                    v = _warmup_input(v, path + (str(k),), warmups)
                result[str(k)] = _canonical(v, value_field.message_type, path + (str(k),), warmups)
            else:
                result[str(k)] = v
        return result
    if is_repeated(field) and isinstance(item, list):
        return [_canonical_single(v, field, path + (i,), warmups) for i, v in enumerate(item)]
    return _canonical_single(item, field, path, warmups)


def _canonical_single(item, field, path, warmups):
    if field.type == FD.TYPE_ENUM and field.enum_type.name == "DataType" and isinstance(item, str):
        return item if item.startswith("TYPE_") else "TYPE_" + item
    if field.type == FD.TYPE_MESSAGE:
        if field.message_type.name == "ModelVersionPolicy":
            item = _version_policy(item)
        return _canonical(item, field.message_type, path, warmups)
    return item


def _version_policy(item):
    if item == "all":
        return {"all": {}}
    if isinstance(item, dict):
        if isinstance(item.get("latest"), int) and not isinstance(item.get("latest"), bool):
            return {"latest": {"num_versions": item["latest"]}}
        if isinstance(item.get("specific"), list):
            return {"specific": {"versions": item["specific"]}}
    return item


def _warmup_input(value, path, warmups):
    if not isinstance(value, dict) or ("data" not in value and "file" not in value):
        return value
    value = dict(value)
    data = value.pop("data", None)
    source = value.pop("file", "")
    # path = (..., "model_warmup", i, "inputs", NAME): the warmup's name is not at hand here,
    # so the file is named by warmup index and input name, which is unique per model.
    index, input_name = path[-3], path[-1]
    file_name = f"{index}_{_UNSAFE.sub('_', input_name)}"
    given = value.get("input_data_file")
    if source and isinstance(given, str) and given and not _UNSAFE.search(given) and given not in (".", ".."):
        file_name = given  # a copied file keeps the name it had (an imported repository stays the same)
    data_type = value.get("data_type", "")
    if isinstance(data_type, str) and data_type and not data_type.startswith("TYPE_"):
        data_type = "TYPE_" + data_type
    warmups.append(WarmupSource(file_name, data_type, list(value.get("dims", [])), data, source or "", path))
    value["input_data_file"] = file_name
    return value


def canonical_config(name: str, merged: dict) -> tuple:
    """(config dict for ParseDict, [WarmupSource]) for one model."""
    body = {k: v for k, v in merged.items() if k not in MANIFEST_ONLY_KEYS and k != "name"}
    warmups: list = []
    config = _canonical(body, ModelConfig.DESCRIPTOR, (), warmups)
    return {"name": name, **config}, warmups

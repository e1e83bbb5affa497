"""The manifest change: which top-level fields of a model entry the chosen config changes,
and the manifest text with them (and the `tuning:` block) set.

Both sides are compared as the entries `import` would write for them (the proto's
defaults left out, the manifest's short forms), so a field spelled differently but
meaning the same is no change. The model's side is its entry with `defaults:` merged in;
a changed field that came from `defaults:` is set on the model itself (the defaults stay
as they are for the other models).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Union

import yaml
from google.protobuf import json_format

from compiler.analyzer.yamledit import EditError, Editor, same
from compiler.errors import FatalError
from compiler.importer.entry import config_to_entry
from compiler.manifest.normalize import canonical_config, merge_defaults
from compiler.manifest.yaml_source import load_bytes
from compiler.proto import ModelConfig

# What Model Analyzer's automatic search sets (automatic_model_config_generator.py,
# `_get_curr_param_combo`); any other field differs only when its manual search was told to
# sweep it, or when the profiled repository was not compiled from this manifest.
SEARCHED = ("instance_group", "max_batch_size", "dynamic_batching")
# Fields the manifest spells its own way: warmup inputs name files the compiler writes from
# `data:`/`file:`, which a config from Model Analyzer cannot carry.
KEPT = {"model_warmup": "warmup data is the manifest's own (data:/file:); left as it is",
        "name": ""}
# New config fields go above these keys of the model entry.
MANIFEST_KEYS = ("files", "versions", "tuning", "configs")
TUNING = "tuning"


# A value as YAML holds it: what a manifest key is set to.
YamlValue = Union[None, bool, int, float, str, list, dict]


@dataclass
class FieldChange:
    key: str
    before: YamlValue  # None when the model has no such field
    after: YamlValue  # None when the field goes away
    inherited: bool = False  # the model had it from `defaults:`

    @property
    def searched(self) -> bool:
        return self.key in SEARCHED


@dataclass
class ManifestChange:
    model: str
    changes: list = field(default_factory=list)  # FieldChange
    kept: list = field(default_factory=list)  # (key, why) differences left alone
    text: str = ""  # the whole manifest with the change made


def field_changes(data: dict, model: str, tuned_config) -> ManifestChange:
    entry = data["models"][model]
    merged, inherited = merge_defaults(data.get("defaults") or {}, entry)
    config_dict, _ = canonical_config(model, merged)
    current = config_to_entry(json_format.ParseDict(config_dict, ModelConfig()))
    tuned = config_to_entry(tuned_config)
    result = ManifestChange(model)
    for key in list(tuned) + [k for k in current if k not in tuned]:
        if same(current.get(key), tuned.get(key)):
            continue
        if key in KEPT:
            if KEPT[key]:
                result.kept.append((key, KEPT[key]))
            continue
        if key not in tuned and key in inherited:
            result.kept.append((key, "comes from defaults: and cannot be unset for one model; edit by hand"))
            continue
        result.changes.append(FieldChange(key, current.get(key), tuned.get(key), key in inherited))
    return result


def apply(text: str, data: dict, change: ManifestChange, tuning: dict, display: str) -> str:
    """The manifest text with `change` and the tuning block made; checked to read back as
    exactly the intended data."""
    try:
        editor = Editor(text)
        models = Editor.find(editor.root, "models")
        entry_node = Editor.find(models[1], change.model) if models and models[1].kind == "mapping" else None
        if entry_node is None or entry_node[1].kind != "mapping":
            raise EditError(f"models.{change.model} is not a mapping")
        node = entry_node[1]
        if node.flow:
            raise EditError(f"models.{change.model} is written in flow style ({{...}})")
        entry = data["models"][change.model]
        for item in change.changes:
            if item.after is None:
                editor.delete_key(node, item.key)
            else:
                editor.set_key(node, item.key, entry.get(item.key), item.after, before=MANIFEST_KEYS)
        editor.set_key(node, TUNING, entry.get(TUNING), tuning, block=True)
        new_text = editor.result()
    except (EditError, yaml.YAMLError) as exc:
        raise FatalError(f"{display}: cannot edit models.{change.model} in place: {exc}",
                         "write the model entry in block style (one key a line), or apply the diff by hand")
    expected = copy.deepcopy(data)
    target = expected["models"][change.model]
    for item in change.changes:
        if item.after is None:
            target.pop(item.key, None)
        else:
            target[item.key] = item.after
    target[TUNING] = tuning
    document = load_bytes(new_text.encode("utf-8"), display)
    if document.problems or not same(_text_keys(document.data), _text_keys(expected)):
        raise FatalError(f"internal: the edited {display} does not read back as intended; nothing written",
                         "report this with the model's entry; apply the diff by hand meanwhile")
    return new_text


def _text_keys(value):
    if isinstance(value, dict):
        return {str(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text_keys(v) for v in value]
    return value

"""Config variants (`models.NAME.configs.VARIANT`): one model folder, several configs.

Triton (2.46+) started with `--model-config-name=VARIANT` loads `NAME/configs/VARIANT.pbtxt`
instead of `NAME/config.pbtxt` when that file exists (and config.pbtxt when it does not).
A variant is written as the fields that differ from the model; the full config is the
variant merged over the model's own fields (with `defaults:` already merged in):

- a mapping merges key by key, recursively (`dynamic_batching`, `parameters`, ...);
- a list or a scalar replaces the model's value whole (`input`, `instance_group`, `dims`);
- `null` removes the key, at any depth;
- setting one member of a protobuf oneof drops the model's other members of it
  (`sequence_batching` in a variant replaces the model's `dynamic_batching`; `latest` replaces
  `specific` in `version_policy`), as assigning a oneof member does in protobuf.
"""
from __future__ import annotations

from compiler.errors import WARNING, FatalError, Problem
from compiler.manifest.normalize import canonical_config
from compiler.model import VariantSpec
from compiler.proto import ModelConfig

# Kept free of protobuf imports at module level: sync (which only needs the paths) imports it.
FOLDER = "configs"


def variant_file(model: str, variant: str) -> str:
    return f"{model}/{FOLDER}/{variant}.pbtxt"


def merge_variant(model_fields: dict, variant: dict) -> dict:
    """The variant's full manifest entry: `variant` merged over `model_fields` (both written
    as in models.yaml, short forms included)."""
    return _merge(model_fields, variant, ModelConfig.DESCRIPTOR)


def _merge(base: dict, over: dict, descriptor) -> dict:
    out = dict(base)
    for key, value in over.items():
        field = descriptor.fields_by_name.get(key) if descriptor is not None else None
        if value is not None and field is not None and field.containing_oneof is not None:
            for other in field.containing_oneof.fields:
                if other.name != key:
                    out.pop(other.name, None)
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, _child(field, descriptor))
        else:
            out[key] = _without_nulls(value)
    return out


def _child(field, descriptor):
    """The message of a mapping's values below `field`; None for a protobuf map (`parameters`):
    its keys are names, merged as plain mappings."""
    if descriptor is None or field is None or field.message_type is None:
        return None
    if field.message_type.GetOptions().map_entry:
        return None
    return field.message_type


def _without_nulls(value):
    """A value the model does not have yet: nulls inside it remove nothing, so they go."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def written_in_variant(variant: dict, config_path: tuple) -> bool:
    """Does the variant itself write the value at `config_path` (a path in the compiled config)?
    False when it comes from the model. Below a list or scalar the variant wrote, everything
    is the variant's (lists replace whole)."""
    node, depth = variant, 0
    for part in config_path:
        if not isinstance(node, dict):
            break
        key = part if part in node else str(part)
        if node.get(key) is None:
            return False
        node, depth = node[key], depth + 1
    return depth > 0


# Triton 2.46 (24.05) added `--model-config-name`; an older server ignores configs/ and
# serves config.pbtxt, so a variant meant for it would silently not be what runs.
ADDED_IN_MINOR = 46


def build_variants(model, model_fields: dict, configs: dict, parse, problems) -> dict:
    """{name: VariantSpec} for a model's `configs:`; `parse(config_dict, doc_path)` gives the
    ModelConfig message or None (reporting why)."""
    variants = {}
    for name in sorted(configs or {}):
        written = configs[name] or {}
        merged = merge_variant(model_fields, written)
        config_dict, warmups = canonical_config(model.name, merged)
        if "model_warmup" in written:
            _rename_warmups(config_dict, written["model_warmup"], warmups, f"{name}.")
        else:
            warmups = []  # the model's own warmup files, which the model already writes
        doc_path = model.doc_path + (FOLDER, name)
        variant = VariantSpec(name, None, config_dict, written, doc_path, warmups)
        variant.config = parse(config_dict, doc_path)
        variants[name] = variant
    return variants


def _rename_warmups(config_dict: dict, written: list, warmups: list, prefix: str) -> None:
    """A variant's own warmup files go to warmup/<variant>.<file>, beside the model's, unless
    the variant names the file itself (`input_data_file` with `file:`: an imported repository
    stays the same)."""
    for warmup in warmups:
        _, index, _, input_name = warmup.path[-4:]
        given = ((written[index] or {}).get("inputs") or {}).get(input_name) or {}
        if warmup.source and given.get("input_data_file"):
            continue
        warmup.file_name = prefix + warmup.file_name
        config_dict["model_warmup"][index]["inputs"][input_name]["input_data_file"] = warmup.file_name


def locate(model, variant, problem) -> None:
    """Point a problem of the variant's merged config at the line it comes from: the variant's
    own, or the model's (then the message says which variant inherits it)."""
    path = tuple(problem.path)
    if not path or written_in_variant(variant.written, path):
        problem.path = variant.doc_path + path
    else:
        problem.path = model.doc_path_of(path)
        problem.message = f"in config variant {variant.name!r} (inherited from the model): {problem.message}"


def release_problems(manifest, release, said_by) -> list:
    """`configs:` on a manifest served by a Triton older than 2.46."""
    if release is None or release.minor >= ADDED_IN_MINOR:
        return []
    out = []
    for model in manifest.models.values():
        if model.variants:
            out.append(Problem(f"config variants (`configs`) need Triton 2.46 or newer; {said_by or 'the manifest'} "
                               f"is served by {release}", "triton-release", model.doc_path + (FOLDER,),
                               hint="an older tritonserver has no --model-config-name and serves config.pbtxt"))
    return out


def is_config_path(path: str) -> bool:
    """Is `path` (inside a repository, "<model>/...") a config Triton may load: config.pbtxt or
    a variant? Sync writes these after, and removes them before, the files they name."""
    parts = path.split("/")
    if len(parts) == 2:
        return parts[1] == "config.pbtxt"
    return len(parts) == 3 and parts[1] == FOLDER and parts[2].endswith(".pbtxt")


def variant_of(model_fields: dict, full: dict) -> dict:
    """What a variant writes so that it merges over `model_fields` into `full` (both entries
    as `import` writes them): the fields that differ, nulls for what `full` lacks, none of the
    nulls the oneof rule makes needless. `import` uses it for configs/<name>.pbtxt."""
    written = _difference(model_fields, full)
    for path in list(_null_paths(written, ())):
        trial = _without(written, path)
        if merge_variant(model_fields, trial) == merge_variant(model_fields, written):
            written = trial
    return written


def _difference(base: dict, full: dict) -> dict:
    out = {}
    for key, value in full.items():
        if key not in base:
            out[key] = value
        elif isinstance(value, dict) and isinstance(base[key], dict):
            inner = _difference(base[key], value)
            if inner:
                out[key] = inner
        elif value != base[key] or type(value) is not type(base[key]):
            out[key] = value
    for key in base:
        if key not in full:
            out[key] = None
    return out


def _null_paths(node: dict, path: tuple):
    for key, value in node.items():
        if value is None:
            yield path + (key,)
        elif isinstance(value, dict):
            yield from _null_paths(value, path + (key,))


def _without(node: dict, path: tuple) -> dict:
    out = dict(node)
    if len(path) == 1:
        out.pop(path[0], None)
    else:
        out[path[0]] = _without(out[path[0]], path[1:])
        if not out[path[0]]:
            out.pop(path[0])
    return out


def names(manifest) -> list:
    return sorted({v for model in manifest.models.values() for v in model.variants})


def serve_variant(manifest, name: str, target: str = "") -> None:
    """Make each model's config the one a server started with `--model-config-name=name`
    loads: the variant where the model has it, config.pbtxt where not (Triton's fallback).
    For `rollout` and `status`, which compare a live server with the manifest. Without a
    name, a `target` of the manifest that says `config_name` gives it."""
    if not name and target in manifest.targets:
        name = manifest.targets[target].config_name
    if not name:
        return
    known = names(manifest)
    if name not in known:
        raise FatalError(f"--model-config-name {name}: no model of the manifest has this config variant",
                         "the manifest's variants: " + (", ".join(known) or "none")
                         + "; a server given an unknown name serves every config.pbtxt")
    for model in manifest.models.values():
        variant = model.variants.get(name)
        if variant is not None and variant.config is not None:
            model.config, model.config_dict = variant.config, variant.config_dict


def target_problems(manifest) -> list:
    """A target's `config_name` that no model has: its servers would load every config.pbtxt,
    which is allowed (Triton falls back) but most likely a typo."""
    known = names(manifest)
    out = []
    for target in manifest.targets.values():
        if target.config_name and target.config_name not in known:
            out.append(Problem(f"no model has a config variant {target.config_name!r}: servers run with "
                               f"--model-config-name={target.config_name} load every model's config.pbtxt",
                               "config-name", target.doc_path + ("config_name",), WARNING,
                               hint="the manifest's variants: " + (", ".join(known) or "none")))
    return out

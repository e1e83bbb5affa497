"""Does the config a server runs say what the manifest says?

The server's config (GET v2/models/<m>/config) is the manifest's config plus what Triton
fills in itself. A field the manifest leaves open is Triton's to fill, so its filled-in
value is adopted before comparing; a field the manifest sets must come back exactly. That
way a value changed in git shows up, and so does a block removed from git (Triton never
invents `dynamic_batching` or a warmup sample), while Triton's own defaults do not.

What Triton 2.51 fills in (seen on a real server): `version_policy {latest 1}`,
`default_model_filename`, `optimization` pinned memory (also next to a priority the manifest
sets), `instance_group` names (`<model>_<i>`), count 1 and the kind for KIND_AUTO,
`dynamic_batching.preferred_batch_size` (max_batch_size),
`sequence_batching.max_sequence_idle_microseconds` (1 s), an empty
`model_transaction_policy`, and - through auto-complete from the model file -
backend/platform, runtime, inputs and outputs.
"""
from __future__ import annotations

import json

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.proto import is_repeated

# Top-level fields taken from the server when the manifest leaves them unset.
_FILLED_WHEN_UNSET = ("platform", "backend", "runtime", "version_policy", "optimization", "default_model_filename",
                      "model_transaction_policy", "input", "output", "instance_group")
_KIND_AUTO = 0


def _has(config, name: str) -> bool:
    field = config.DESCRIPTOR.fields_by_name[name]
    if is_repeated(field):
        return len(getattr(config, name)) > 0
    if field.message_type is not None:
        return config.HasField(name)
    return bool(getattr(config, name))


def _adopt_instance_groups(ours, theirs, model: str) -> None:
    if len(ours.instance_group) != len(theirs.instance_group):
        return  # a real difference: left for the comparison to report
    for i, (mine, served) in enumerate(zip(ours.instance_group, theirs.instance_group)):
        if not mine.name and served.name == f"{model}_{i}":
            mine.name = served.name
        if mine.count == 0:
            mine.count = served.count
        if mine.kind == _KIND_AUTO:
            mine.kind = served.kind


def with_triton_defaults(ours, theirs, model: str):
    """A copy of `ours` with every value the manifest left to Triton taken from `theirs`."""
    filled = type(ours)()
    filled.CopyFrom(ours)
    for name in _FILLED_WHEN_UNSET:
        if not _has(filled, name) and _has(theirs, name):
            field = filled.DESCRIPTOR.fields_by_name[name]
            if is_repeated(field):
                getattr(filled, name).extend(getattr(theirs, name))
            elif field.message_type is not None:
                getattr(filled, name).CopyFrom(getattr(theirs, name))
            else:
                setattr(filled, name, getattr(theirs, name))
    _adopt_instance_groups(filled, theirs, model)
    if (filled.HasField("dynamic_batching") and theirs.HasField("dynamic_batching")
            and not filled.dynamic_batching.preferred_batch_size):
        filled.dynamic_batching.preferred_batch_size.extend(theirs.dynamic_batching.preferred_batch_size)
    sequence, served_sequence = filled.sequence_batching, theirs.sequence_batching
    if filled.HasField("sequence_batching") and not sequence.max_sequence_idle_microseconds:
        sequence.max_sequence_idle_microseconds = served_sequence.max_sequence_idle_microseconds
    if filled.HasField("optimization"):  # pinned memory is filled in next to what the manifest sets
        for name in ("input_pinned_memory", "output_pinned_memory"):
            if theirs.optimization.HasField(name) and not filled.optimization.HasField(name):
                getattr(filled.optimization, name).CopyFrom(getattr(theirs.optimization, name))
    if not filled.name:
        filled.name = theirs.name
    return filled


def _as_dict(config) -> dict:
    """Every field with its value, zeros included, so that `max_batch_size: 0` against 4 reads
    as 0 vs 4; only unset messages are absent. (protobuf renamed the flag in 26.x.)"""
    try:
        found = json_format.MessageToDict(config, preserving_proto_field_name=True,
                                          always_print_fields_with_no_presence=True)
    except TypeError:
        found = json_format.MessageToDict(config, preserving_proto_field_name=True,
                                          including_default_value_fields=True)  # type: ignore[call-arg]  # protobuf < 5.26
    return _numbers(found, config.DESCRIPTOR)


# Protobuf's JSON mapping writes 64-bit integers as strings ("versions": ["1", "2"], dims
# ["4"]); a report for people shows them as the numbers they are, as the manifest writes them.
_INT64 = {FD.TYPE_INT64, FD.TYPE_UINT64, FD.TYPE_SINT64, FD.TYPE_FIXED64, FD.TYPE_SFIXED64}


def _numbers(value, descriptor):
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        field = descriptor.fields_by_name.get(key)
        if field is None:
            out[key] = item
        elif field.message_type is not None and field.message_type.GetOptions().map_entry:
            entry = field.message_type.fields_by_name["value"]
            out[key] = {k: _one(v, entry) for k, v in item.items()} if isinstance(item, dict) else item
        elif isinstance(item, list):
            out[key] = [_one(v, field) for v in item]
        else:
            out[key] = _one(item, field)
    return out


def _one(value, field):
    if field.message_type is not None:
        return _numbers(value, field.message_type)
    if field.type in _INT64 and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _differences(ours, theirs, path: str, out: list) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in list(ours) + [k for k in theirs if k not in ours]:
            where = f"{path}.{key}" if path else key
            if key not in theirs:
                out.append((where, _compact(ours[key]), None))
            elif key not in ours:
                out.append((where, None, _compact(theirs[key])))
            else:
                _differences(ours[key], theirs[key], where, out)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _differences(a, b, f"{path}[{i}]", out)
    elif ours != theirs:
        out.append((path, ours, theirs))


def _compact(value):
    """A block present on one side only, shown without its zero values."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (False, 0, "0", "", [], {})}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def config_differences(ours, theirs, model: str) -> list:
    """[(path, manifest value or None, server value or None)] - empty when they agree."""
    out: list = []
    _differences(_as_dict(with_triton_defaults(ours, theirs, model)), _as_dict(theirs), "", out)
    return [d for d in out if d[0] != "name"]


def describe(difference) -> str:
    path, ours, theirs = difference
    if ours is None:
        return f"{path}: set on the server ({_short(theirs)}), not in the manifest"
    if theirs is None:
        return f"{path}: {_short(ours)} in the manifest, not on the server"
    return f"{path}: manifest {_short(ours)}, server {_short(theirs)}"


def _short(value) -> str:
    text = json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."

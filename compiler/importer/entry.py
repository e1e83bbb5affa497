"""A parsed `ModelConfig` -> the manifest's model entry (plain dicts, lists and scalars).

The entry is what a person would have written: fields in the order model_config.proto
declares them (the order Triton's docs use), values Triton would take as defaults left
out, and the manifest's short forms (`FP32`, `version_policy: {latest: 2}`,
`parameters: {KEY: value}`). Field names stay the proto's own, so the entry reads like
the config.pbtxt it came from. The walk is driven by the descriptor, so fields added to
tritonclient's proto later are imported without a change here.
"""
from __future__ import annotations

import base64
import math
import struct

from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.proto import is_repeated

_INT_TYPES = {FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_SINT32, FD.TYPE_SINT64,
              FD.TYPE_FIXED32, FD.TYPE_FIXED64, FD.TYPE_SFIXED32, FD.TYPE_SFIXED64}


def _has_presence(field) -> bool:
    flag = getattr(field, "has_presence", None)
    if isinstance(flag, bool):
        return flag
    return field.message_type is not None or field.containing_oneof is not None


def _is_map(field) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def is_set(message, field) -> bool:
    """What text_format would print: set messages (even empty), non-zero scalars, non-empty lists.
    A scalar inside a oneof counts when its case is chosen, so `zero_data: false` survives."""
    if is_repeated(field):
        return len(getattr(message, field.name)) > 0
    if _has_presence(field):
        return message.HasField(field.name)
    return getattr(message, field.name) != field.default_value


def short_float(value: float, single: bool) -> float:
    """The shortest decimal that reads back as the same float32 (`0.1`, not 0.10000000149011612);
    doubles keep Python's shortest repr already."""
    if not single or math.isnan(value) or math.isinf(value):
        return value
    exact = struct.pack("<f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack("<f", candidate) == exact:
            return candidate
    return value


def _scalar(value, field):
    if field.type == FD.TYPE_ENUM:
        name = field.enum_type.values_by_number[value].name if value in field.enum_type.values_by_number else value
        if field.enum_type.full_name == "inference.DataType" and isinstance(name, str) and name.startswith("TYPE_"):
            return name[len("TYPE_"):]  # the short form the manifest accepts anywhere a DataType goes
        return name
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return short_float(value, field.type == FD.TYPE_FLOAT)
    if field.type in _INT_TYPES:
        return int(value)
    if field.type == FD.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")  # what json_format.ParseDict expects for bytes
    return value


def _version_policy(message) -> object:
    which = message.WhichOneof("policy_choice")
    if which == "all":
        return "all"
    if which == "latest" and message.latest.num_versions >= 1:
        return {"latest": message.latest.num_versions}
    if which == "specific" and message.specific.versions:
        return {"specific": [int(v) for v in message.specific.versions]}
    return message_to_dict(message)  # the long form keeps what a short form cannot say (latest: 0)


def _value(value, field):
    if field.type != FD.TYPE_MESSAGE:
        return _scalar(value, field)
    if field.message_type.full_name == "inference.ModelVersionPolicy":
        return _version_policy(value)
    return message_to_dict(value)


def _map(container, field) -> dict:
    value_field = field.message_type.fields_by_name["value"]
    out = {}
    for key in sorted(container):
        item = container[key]
        if value_field.message_type is not None and value_field.message_type.full_name == "inference.ModelParameter":
            # ModelParameter holds only string_value: `KEY: value` is the manifest's short form.
            out[str(key)] = item.string_value
        else:
            out[str(key)] = _value(item, value_field)
    return out


def message_to_dict(message, skip=()) -> dict:
    out: dict = {}
    for field in message.DESCRIPTOR.fields:  # declaration order, not field-number order
        if field.name in skip or not is_set(message, field):
            continue
        value = getattr(message, field.name)
        if _is_map(field):
            out[field.name] = _map(value, field)
        elif is_repeated(field):
            out[field.name] = [_value(item, field) for item in value]
        else:
            out[field.name] = _value(value, field)
    return out


def config_to_entry(config) -> dict:
    """The model entry for `config`, without `name` (the manifest's key is the name)."""
    return message_to_dict(config, skip=("name",))

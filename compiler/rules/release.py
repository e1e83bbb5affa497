"""Fields, enum values and platforms newer than the Triton that serves the model.

An older Triton parses config.pbtxt with its own, older ModelConfig: a field it does not know
fails the load ("Message type "inference.ModelConfig" has no field named ..."), an enum value
it does not know too, and a platform its core does not know is "unexpected platform type".
The table of what came when is compiler/data/triton_releases.json, from Triton's history.
Only checked when the manifest says which Triton serves it (`triton:`, ctx.triton).
"""
from __future__ import annotations

from compiler import triton_releases
from compiler.rules.base import error, is_map, is_repeated


def _enum_name(field, number) -> str:
    value = field.enum_type.values_by_number.get(number)
    return value.name if value is not None else ""


def _too_new(full_name: str, ctx):
    added = triton_releases.added_in(full_name)
    return added if added is not None and added > ctx.triton else None


def _problem(what: str, added, path, ctx, hint: str):
    return error("triton-release", f"{what} needs {added} or newer; {ctx.triton_from or 'the manifest'} is served "
                 f"by {ctx.triton}", path, hint=hint)


def _walk(message, path, ctx, out) -> None:
    for field, value in message.ListFields():
        here = path + (field.name,)
        added = _too_new(f"{field.containing_type.full_name}.{field.name}", ctx)
        if added is not None:
            out.append(_problem(f"`{field.name}`", added, here, ctx,
                                hint=f"remove `{field.name}`, or serve the model with {added} or newer (and say so "
                                     "in `triton:`)"))
            continue
        if is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            if value_field.message_type is not None:
                for key in sorted(value, key=str):
                    _walk(value[key], here + (str(key),), ctx, out)
            continue
        items = list(enumerate(value)) if is_repeated(field) else [(None, value)]
        for index, item in items:
            where = here if index is None else here + (index,)
            if field.message_type is not None:
                _walk(item, where, ctx, out)
            elif field.enum_type is not None:
                name = _enum_name(field, item)
                added = _too_new(f"{field.enum_type.full_name}.{name}", ctx) if name else None
                if added is not None:
                    out.append(_problem(f"{field.name} {name}", added, where, ctx,
                                        hint=f"use a value {ctx.triton} knows, or serve the model with {added} or "
                                             "newer"))


def check(config, ctx) -> list:
    if ctx.triton is None:
        return []
    out: list = []
    _walk(config, (), ctx, out)
    if config.platform:
        added = triton_releases.platform_added_in(config.platform)
        if added is not None and added > ctx.triton:
            out.append(_problem(f"platform '{config.platform}'", added, ("platform",), ctx,
                                hint=f"{ctx.triton} answers \"unexpected platform type '{config.platform}'\"; use "
                                     "another platform, or a newer Triton"))
    return out

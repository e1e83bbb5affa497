"""The model's name: a safe folder name, and the same in the config as the folder it lives in."""
from __future__ import annotations

import re

from compiler.rules.base import error, resolve_backend

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_NAME_RULE = "letters, digits, '_', '.' and '-' only, and not '.', '..' or containing '..'"
# Triton 2.51's python backend starts its stub through `bash -c` with the model path unquoted:
# a name with a character the shell reads (a space, `<`, `|`, `#`, a backtick...) never loads,
# and the load hangs (seen with the real server; docs/triton-judge.md).
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._,:@%+=~^/-]+$")


def _bad(name: str) -> bool:
    return not _NAME.match(name) or name in (".", "..") or ".." in name


def check(config, ctx) -> list:
    out = []
    if config.name and _bad(config.name):
        out.append(error("model-name", f"model name {config.name!r} is not allowed: {_NAME_RULE}", ("name",),
                         hint="Triton uses the name as the folder name in the repository and in URLs; rename it"))
    if ctx.model_name and _bad(ctx.model_name) and ctx.model_name != config.name:
        hang = not _SHELL_SAFE.match(ctx.model_name) and resolve_backend(config, ctx).backend == "python"
        out.append(error("model-name", f"model folder name {ctx.model_name!r} is not allowed: {_NAME_RULE}", (),
                         hint="rename the model (folder)" + ("; the python backend starts its stub through a shell "
                                                             "that splits this name: the load never finishes"
                                                             if hang else "")))
    if config.name and ctx.model_name and config.name != ctx.model_name:
        out.append(error("model-name-mismatch",
                         f"model name {config.name!r} in the configuration differs from the model folder "
                         f"{ctx.model_name!r}; Triton requires the name, if given, to match the folder name",
                         ("name",), hint=f"set `name: \"{ctx.model_name}\"` or drop `name` (Triton then uses the folder "
                                         "name)"))
    return out

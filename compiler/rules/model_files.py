"""The model file of every version Triton serves, where a folder on disk has version folders
Triton reads by their number prefix (lint only: a manifest names each version folder by its
number, so `3.bak` cannot exist there; a manifest version without its model file is
compiler.rules.python_backend's, on both paths).

Judged with a real tritonserver 2.51 (tests/judge/verdicts.tsv):
- Triton names versions after their folders the way std::stoll reads a name: the number at its
  start. '3.bak', '2_old' and '4-copy' are versions 3, 2 and 4, and their model is then looked
  up in the folders '3', '2' and '4'. Names with a leading zero ('01', '0.bak') are ignored, and
  so are names that do not start with a number; '0' is version 0.
- A python model whose served version has no model file (model.py, or default_model_filename)
  never finishes loading: the stub fails ("Python model file not found") and the load request
  waits forever. compiler.rules.python_backend reports a version folder without the file; this
  module the version Triton reads from a folder like '3.bak' and then looks for in '3/', which
  does not exist, located at that folder.
"""
from __future__ import annotations

import os
import re
from typing import Optional, cast

from compiler.rules.base import ENSEMBLE, error, resolve_backend
from compiler.rules.folder import disk_path
from compiler.rules.python_model import model_filename, served_versions

_STOLL = re.compile(r"^\s*([+-]?\d+)")


def version_number(name: str) -> Optional[int]:
    """The version Triton reads from a folder name, or None when it ignores the folder."""
    if len(name) > 1 and name.startswith("0"):
        return None
    match = _STOLL.match(name)
    return int(match.group(1)) if match else None


def _folders_of(ctx, version: int) -> list:
    try:
        names = sorted(e.name for e in os.scandir(disk_path(ctx)) if e.is_dir())
    except OSError:
        return []
    return [n for n in names if version_number(n) == version]


def _missing(config, ctx, version: int, filename: str):
    rel = f"{version}/{filename}"
    folders = _folders_of(ctx, version)
    exists = str(version) in folders
    hint = (f"add {rel}" + (" or fix default_model_filename" if config.default_model_filename else "")
            + ("" if exists else f"; Triton reads folder '{folders[0]}' as version {version} and looks in "
               f"{version}/, which does not exist: rename the folder, or move it out of the model folder"
               if folders else ""))
    problem = error("model-file-missing", f"version {version} has no model file {rel}: the python backend does not "
                    "find it (\"Python model file not found\") and Triton's load then never finishes (it hangs)",
                    ("default_model_filename",) if exists and config.default_model_filename else (), hint=hint)
    if not problem.path:
        problem.at(os.path.join(cast(str, disk_path(ctx)), folders[0] if folders and not exists else str(version)), 1, 1)
    return problem


def check(config, ctx) -> list:
    if disk_path(ctx) is None or ctx.versions is None or ctx.files is None or config.platform == ENSEMBLE:
        return []
    if resolve_backend(config, ctx).backend != "python":
        return []
    filename = model_filename(config)
    # A version folder that exists without the file: compiler.rules.python_backend reports it.
    return [_missing(config, ctx, v, filename) for v in sorted(served_versions(config, ctx))
            if f"{v}/{filename}" not in ctx.files and not os.path.isdir(os.path.join(cast(str, disk_path(ctx)), str(v)))]

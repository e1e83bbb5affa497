"""What the python backend reads from a model's files when Triton loads it, read through the
model folder's view (a folder on disk for lint, the versions' sources for validate): the model
file of each served version, and whether it defines
`auto_complete_config`, the only way a python model fills in missing tensor data types or dims.
Judged with a real tritonserver 2.51 (tests/judge): a python model without it is rejected with
"must specify 'data_type'" / "must specify 'dims'", exactly as if auto-complete were off.
"""
from __future__ import annotations

import re

from compiler.rules.versions import versions_to_load

DEFAULT_FILE = "model.py"
_AUTO_COMPLETE = re.compile(rb"^\s*def\s+auto_complete_config\s*\(", re.MULTILINE)
MAX_READ = 4 * 1024 * 1024


def model_filename(config) -> str:
    return config.default_model_filename or DEFAULT_FILE


def served_versions(config, ctx) -> set:
    return versions_to_load(config, ctx.versions) if ctx.versions is not None else set()


def read(ctx, relative: str):
    """Bytes of a file in the model folder, or None."""
    path = ctx.model_folder.model_file(relative) if ctx.model_folder is not None else None
    if path is None or not path.is_file():
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_READ)
    except OSError:
        return None


def completes_tensors(config, ctx):
    """True/False: a served version's model file defines auto_complete_config; None: cannot tell."""
    if ctx.model_folder is None or ctx.versions is None:
        return None
    texts = [read(ctx, f"{v}/{model_filename(config)}") for v in sorted(served_versions(config, ctx))]
    texts = [t for t in texts if t is not None]
    if not texts:
        return None
    return any(_AUTO_COMPLETE.search(t) for t in texts)

"""Model parameters the python backend reads when it loads a model (tests/judge, tritonserver 2.51):
- FORCE_CPU_ONLY_INPUT_TENSORS: exactly "yes" or "no" ("Incorrect value for
  FORCE_CPU_ONLY_INPUT_TENSORS" otherwise: "Yes", "true", "0" are refused);
- EXECUTION_ENV_PATH: a packed environment the backend unpacks; a path it cannot resolve is
  refused ("Failed to get the canonical path for ..."). Only $$TRITON_MODEL_DIRECTORY/<file>
  is portable (relative paths depend on the server's working directory, absolute ones on its
  disk, and a cloud repository is copied to a temporary folder first); lint checks the file,
  and that it is a tar archive ("archive_read_open_filename() failed" otherwise).
"""
from __future__ import annotations

import os
import posixpath
import tarfile

from compiler.rules.base import error, resolve_backend

FORCE_CPU = "FORCE_CPU_ONLY_INPUT_TENSORS"
ENV_PATH = "EXECUTION_ENV_PATH"
MODEL_DIR = "$$TRITON_MODEL_DIRECTORY"


def _env_path(value, ctx) -> list:
    path = ("parameters", ENV_PATH)
    if not value.startswith(MODEL_DIR + "/"):
        return [error("python-env-path", f"Failed to get the canonical path for {value}: {ENV_PATH} must name a "
                      f"file in the model folder as {MODEL_DIR}/<file>", path,
                      hint=f"put the packed environment into the model folder and write {MODEL_DIR}/<file>.tar.gz; "
                           "relative paths are resolved in the server's working directory, absolute ones on its disk")]
    relative = posixpath.normpath(value[len(MODEL_DIR) + 1:])
    if relative == ".." or relative.startswith("../"):
        return [error("python-env-path", f"{ENV_PATH} '{value}' leaves the model folder", path,
                      hint="keep the environment inside the model folder")]
    if ctx.folder is not None and relative not in (ctx.files or ()):  # lint: the model folder is all there is
        return [error("python-env-path", f"Failed to get the canonical path for {value}: the model folder has no "
                      f"{relative}", path, hint=f"add {relative} to the model folder, or fix the path")]
    if ctx.folder is not None and not _is_archive(os.path.join(ctx.folder, *relative.split("/"))):
        return [error("python-env-path", f"{ENV_PATH} '{value}' is not a tar archive; the python backend fails to "
                      "unpack it (\"archive_read_open_filename() failed\")", path,
                      hint="pack the environment with conda-pack (a .tar.gz), or point at the packed file")]
    return []


def _is_archive(file: str) -> bool:
    try:
        return not os.path.isfile(file) or tarfile.is_tarfile(file)
    except OSError:
        return True  # unreadable here: the server may read it


def check(config, ctx) -> list:
    if not config.parameters or resolve_backend(config, ctx).backend != "python":
        return []
    out = []
    if FORCE_CPU in config.parameters:
        value = config.parameters[FORCE_CPU].string_value
        if value not in ("yes", "no"):
            out.append(error("python-force-cpu", f"Incorrect value for {FORCE_CPU}: '{value}'; the python backend "
                             "accepts exactly 'yes' or 'no'", ("parameters", FORCE_CPU),
                             hint="write \"yes\" or \"no\" (lower case)"))
    if ENV_PATH in config.parameters:
        out.extend(_env_path(config.parameters[ENV_PATH].string_value, ctx))
    return out

"""The python backend: what it reads from the model folder and from `parameters`.

- EXECUTION_ENV_PATH (a conda-pack archive or an unpacked environment) is resolved on the
  server. The backend replaces `$$TRITON_MODEL_DIRECTORY` with the model folder's local path,
  which for a repository on S3/GCS/Azure is a temporary copy: any other path (absolute, or
  relative to the server's working directory) is outside what the repository carries (an error
  for the manifest, a warning for lint, whose folder a server may read locally), and a missing
  file fails the load ("Failed to get the canonical path for ...").
- every version Triton loads needs its model file (`model.py`, or `default_model_filename`).
- FORCE_CPU_ONLY_INPUT_TENSORS is "yes" or "no"; anything else fails the load
  ("Incorrect value for FORCE_CPU_ONLY_INPUT_TENSORS").
"""
from __future__ import annotations

import os
import posixpath
import tarfile

from compiler.rules.base import error, resolve_backend, warning
from compiler.rules.folder import DiskFolder, disk_path
from compiler.rules.versions import versions_to_load

MODEL_DIRECTORY = "$$TRITON_MODEL_DIRECTORY"
ENV_PARAMETER = "EXECUTION_ENV_PATH"
CPU_ONLY_PARAMETER = "FORCE_CPU_ONLY_INPUT_TENSORS"


def _exists(rel: str, ctx) -> bool | None:
    """Whether `rel` (relative to the model folder) is a file or folder there; None: unknown."""
    head = rel.split("/", 1)[0]
    if head.isdigit() and ctx.model_folder is not None:
        files = ctx.model_folder.version_files(int(head))
        if files is None:
            return None
        inner = rel[len(head) + 1:]
        return not inner or inner in files or any(f.startswith(inner + "/") for f in files)
    if ctx.files is None:
        return None
    return rel in ctx.files or any(f.startswith(rel + "/") for f in ctx.files)


def _execution_env(config, ctx) -> list:
    if ENV_PARAMETER not in config.parameters:
        return []
    value = config.parameters[ENV_PARAMETER].string_value
    path = ("parameters", ENV_PARAMETER)
    inside_hint = (f"put the environment into the model folder (manifest `files: {{env.tar.gz: ...}}`) and write "
                   f"\"{MODEL_DIRECTORY}/env.tar.gz\"")
    make = warning if ctx.model_file_may_complete else error
    local = disk_path(ctx)
    if local is not None and not value.startswith(MODEL_DIRECTORY + "/") and (
            not posixpath.isabs(value) or not os.path.exists(value)):
        # lint of a folder on disk, which a server here would read: Triton 2.51 refuses a relative path
        # (looked up in its working directory) and an absolute one that is not there (tests/judge).
        return [error("python-env-missing", f"Failed to get the canonical path for {value}: "
                      + ("a relative path is looked up in the server's working directory, not the model folder"
                         if not posixpath.isabs(value) else "no such file on this machine"), path, hint=inside_hint)]
    if not value.startswith(MODEL_DIRECTORY + "/"):
        # A server reading a local repository resolves such a path and loads the model; only a
        # repository on cloud storage cannot. The manifest syncs to any storage (an error); lint
        # looks at a folder that may be served locally (a warning).
        return [make("python-env-path", f"{ENV_PARAMETER} '{value}' is not inside the model folder: a repository on "
                      "cloud storage is copied to a temporary folder on the server, and only "
                      f"'{MODEL_DIRECTORY}/...' paths follow it there", path, hint=inside_hint)]
    rel = posixpath.normpath(value[len(MODEL_DIRECTORY) + 1:])
    if rel in (".", "..") or rel.startswith(("../", "/")):
        return [make("python-env-path", f"{ENV_PARAMETER} '{value}' leaves the model folder", path,
                      hint=inside_hint)]
    if _exists(rel, ctx) is False:
        return [error("python-env-missing", f"{ENV_PARAMETER} '{value}' names '{rel}', which is not in the model "
                      f"folder; the python backend fails the load (\"Failed to get the canonical path for ...\")",
                      path, hint=f"add '{rel}' to the model folder (manifest `files:`), or fix the path")]
    archive = ctx.model_folder.model_file(rel) if ctx.model_folder is not None else None
    if archive is not None and not _is_archive(str(archive)):
        return [error("python-env-archive", f"{ENV_PARAMETER} '{value}' is not a tar archive; the python backend "
                      "fails to unpack it (\"archive_read_open_filename() failed\", tests/judge)", path,
                      hint="pack the environment with conda-pack (a .tar.gz), or name the unpacked folder")]
    return []


def _is_archive(file: str) -> bool:
    """A file that tarfile cannot read; a folder (an unpacked environment) or an unreadable file passes."""
    try:
        return not os.path.isfile(file) or tarfile.is_tarfile(file)
    except OSError:
        return True


def _cpu_only(config) -> list:
    if CPU_ONLY_PARAMETER not in config.parameters:
        return []
    value = config.parameters[CPU_ONLY_PARAMETER].string_value
    if value in ("yes", "no"):
        return []
    return [error("python-parameter", f"Incorrect value for {CPU_ONLY_PARAMETER}: {value}'",
                  ("parameters", CPU_ONLY_PARAMETER), hint="the python backend accepts exactly \"yes\" or \"no\"")]


def _model_files(config, ctx) -> list:
    if ctx.model_folder is None or ctx.versions is None:
        return []
    wanted = config.default_model_filename or "model.py"
    out = []
    for version in sorted(versions_to_load(config, ctx.versions)):
        if ctx.model_folder.has(version, wanted) is not False:
            continue
        problem = error("python-model-file", f"version {version} has no {wanted}: the python backend cannot load it",
                        ctx.model_folder.version_doc_path(version),
                        hint=f"put {wanted} into version folder {version}"
                             + ("" if config.default_model_filename else " (or set default_model_filename)")
                             + "; Triton 2.51 then waits for the stub forever: the load hangs (tests/judge)")
        if isinstance(ctx.model_folder, DiskFolder):  # lint: point at the folder, or at the file name set
            if config.default_model_filename:
                problem.path = ("default_model_filename",)
            else:
                problem.at(str(ctx.model_folder.folder / str(version)), 1, 1)
        out.append(problem)
    return out


def check(config, ctx) -> list:
    if resolve_backend(config, ctx).backend != "python" or config.runtime not in ("", "model.py"):
        return []
    return _execution_env(config, ctx) + _cpu_only(config) + _model_files(config, ctx)

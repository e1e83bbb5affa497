"""platform / backend / runtime: which backend serves the model (Triton's
AutoCompleteBackendFields followed by the checks at the top of ValidateModelConfig).

Neither platform nor backend: an ERROR for the manifest (it must be complete). For lint
(`model_file_may_complete`) Triton takes the backend from the model file in the first version
folder, or from a model name `model.<backend>`: a WARNING when lint cannot see the folder (a lone
config file; e.g. Triton's own QA configs, which get their platform injected), an ERROR with
Triton's "Invalid model name: Could not determine backend ..." when it can and finds neither
(QA autofill_noplatform/custom/no_delimiter and common/no_version).
"""
from __future__ import annotations

import posixpath

from compiler.rules.base import (
    CHECKED_BACKENDS,
    ENSEMBLE,
    KNOWN_PLATFORMS,
    PLATFORM_BACKEND,
    error,
    for_model,
    model_name,
    resolve_backend,
    suggest,
    warning,
)

_PLATFORMS = ", ".join(KNOWN_PLATFORMS)


def _platform_hint(platform: str) -> str:
    close = suggest(platform, KNOWN_PLATFORMS)
    lead = f"{close} " if close else ""
    return (f"{lead}valid platforms: {_PLATFORMS}; other backends (python, dali, fil, vllm, ...) are named with "
            "`backend` instead")


def _check_backend(config, ctx) -> list:
    name, suffix = model_name(config, ctx), for_model(config, ctx)
    resolved = resolve_backend(config, ctx)
    platform, backend = resolved.platform, resolved.backend
    if platform == ENSEMBLE:
        if config.backend:
            return [error("platform-ensemble-backend",
                          f"Ensemble model '{name}' must have platform type 'ensemble' and empty backend type",
                          ("backend",), hint="remove `backend`; an ensemble is run by Triton itself")]
        return []
    if not backend:
        if config.platform:
            return [error("platform-unknown", f"unexpected platform type '{config.platform}'{suffix}", ("platform",),
                          hint=_platform_hint(config.platform))]
        if config.default_model_filename:
            return [error("platform-missing", f"unexpected platform type ''{suffix}", ("default_model_filename",),
                          hint=f"default_model_filename '{config.default_model_filename}' does not tell Triton the "
                               "backend; set `backend` (or `platform`)")]
        if ctx.model_file_may_complete and resolved.unknowable:
            return [warning("platform-missing",
                            "neither 'platform' nor 'backend' is set; Triton must determine the backend from the model "
                            "file in the first version folder (model.onnx, model.plan, model.savedmodel, model.pt, "
                            "model.py, ...) or from a model name of the form 'model.<backend_name>'", ("platform",),
                            hint="set `backend` (or `platform`) so the configuration does not depend on the file name")]
        if ctx.model_file_may_complete:
            return [error("platform-missing",
                          f"Invalid model name: Could not determine backend for model '{name}' with no backend in model "
                          "configuration. Expected model name of the form 'model.<backend_name>'.", ("platform",),
                          hint="no recognised model file in the first version folder and no `backend`/`platform`: set "
                               "`backend` (or `platform`)")]
        return [error("platform-missing", f"must specify 'platform' or 'backend' for '{name}'", ("platform",),
                      hint=f"set `backend: \"python\"`, `platform: \"onnxruntime_onnx\"`, ... (platforms: {_PLATFORMS})")]
    if backend in CHECKED_BACKENDS and PLATFORM_BACKEND.get(platform) != backend:
        where = ("platform",) if config.platform else ("backend",)
        hint = _platform_hint(platform) if platform else f"set the platform that goes with backend '{backend}'"
        if platform in PLATFORM_BACKEND:
            hint = f"platform '{platform}' belongs to backend '{PLATFORM_BACKEND[platform]}'; drop one of the two"
        detail = "" if resolved.source == "config" else f" (backend '{backend}' taken from the {resolved.source})"
        return [error("platform-backend-mismatch",
                      f"unexpected 'platform' and 'backend' pair, got:{platform}, {backend}{detail}", where, hint=hint)]
    return []


def _check_runtime(config, ctx) -> list:
    runtime = config.runtime
    if not runtime:
        return []
    normal = posixpath.normpath(runtime.replace("\\", "/"))
    backend = resolve_backend(config, ctx).backend
    # Triton looks for the library in the version folder, the model folder and the backend's
    # folder, and refuses one found outside the folder it looked in. '../python/x.so' for backend
    # python stays in backends/python: Triton 2.51 loads it (tests/judge).
    inside_own = backend and posixpath.normpath(f"{backend}/{normal}").startswith(f"{backend}/")
    if backend == "python" and normal.endswith(".py"):
        return [error("runtime-python-file", f"unable to find Python backend based backend library '{runtime}' for "
                      f"model '{model_name(config, ctx)}': `runtime` names the model.py of a Python-based backend "
                      f"(backends/<backend>/{runtime}), not the model's own file", ("runtime",),
                      hint="remove `runtime`; the python backend finds the model's model.py (or "
                           "default_model_filename) in the version folder by itself")]
    if posixpath.isabs(normal) or ((normal == ".." or normal.startswith("../")) and not inside_own):
        return [error("runtime-escape", f"backend library name '{runtime}' escapes backend directory", ("runtime",),
                      hint="`runtime` names a file inside the backend's own directory, e.g. 'libtriton_identity.so' or "
                           "'model.py'; install a custom build as a backend instead of pointing outside")]
    return []


def check(config, ctx) -> list:
    return _check_backend(config, ctx) + _check_runtime(config, ctx)

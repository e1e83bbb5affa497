"""vLLM's Triton backend (`backend: vllm`): every version it loads reads `model.json` from its
version folder and hands it to `AsyncEngineArgs(**json.load(...))`. No file, a file that is not
a JSON object, or a key vLLM does not know fails the load.

The engine arguments are compiler/data/vllm_engine_args.json (one vLLM version, noted there). A
key not in that list that is close to one is a typo: an error with a did-you-mean. Any other
unknown key may be an argument of a newer vLLM than the list's: a warning.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

from compiler.rules.base import error, resolve_backend, suggest, warning
from compiler.rules.versions import versions_to_load

MODEL_JSON = "model.json"
DATA = Path(__file__).resolve().parent.parent / "data" / "vllm_engine_args.json"
MAX_BYTES = 1_000_000


@functools.lru_cache(maxsize=1)
def engine_args() -> tuple:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return frozenset(data["engine_args"]), data["source"]


def _read(path: Path):
    """(object, "") or (None, what is wrong)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    if len(raw) > MAX_BYTES:
        return None, f"is larger than {MAX_BYTES} bytes, which no engine argument file is"
    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(value, dict):
        return None, "is not a JSON object ({\"model\": ..., ...})"
    return value, ""


def _check_keys(value: dict, version: int, where, out: list) -> None:
    known, source = engine_args()
    for key in sorted(value, key=str):
        if key in known:
            continue
        close = suggest(key, known)
        message = f"version {version}: {MODEL_JSON} key '{key}' is not a vLLM engine argument"
        if close:
            out.append(error("vllm-engine-arg", f"{message}; {close}", where,
                             hint=f"AsyncEngineArgs(**model.json) fails on an unknown key; engine arguments from {source}"))
        else:
            out.append(warning("vllm-engine-arg", message + " (of the vLLM version this tool knows)", where,
                               hint=f"a vLLM older or newer than the list ({source}) may differ; if the server's vLLM "
                                    "does not know it, the load fails"))


def check(config, ctx) -> list:
    if resolve_backend(config, ctx).backend != "vllm" or ctx.model_folder is None or ctx.versions is None:
        return []
    out: list = []
    for version in sorted(versions_to_load(config, ctx.versions)):
        present = ctx.model_folder.has(version, MODEL_JSON)
        if present is None:
            continue
        where = ctx.model_folder.version_doc_path(version)
        if not present:
            out.append(error("vllm-model-json", f"version {version} has no {MODEL_JSON}: the vLLM backend fails the "
                             f"load ('{MODEL_JSON}' containing vllm engine args must be provided)", where,
                             hint=f"add {version}/{MODEL_JSON} with the engine arguments, e.g. {{\"model\": "
                                  "\"facebook/opt-125m\"}"))
            continue
        path = ctx.model_folder.version_path(version, MODEL_JSON)
        if path is None:
            continue
        value, why = _read(path)
        if value is None:
            out.append(error("vllm-model-json", f"version {version}: {MODEL_JSON} {why}", where,
                             hint="write the engine arguments as one JSON object"))
            continue
        _check_keys(value, version, where, out)
    return out

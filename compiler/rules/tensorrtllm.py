"""TensorRT-LLM's backend (`backend: tensorrtllm`): the `parameters` it reads, and the batch size
its template fills in several places.

Parameters (compiler/data/tensorrtllm_parameters.json, from the backend's sources): each is read
as text and converted with std::stoi / stof / "true|false|1|0" / comma-separated ints. Only
`gpt_model_type` is read outside a try/catch: missing or not v1/inflight_batching/
inflight_fused_batching, the load fails (an ERROR). Every other parameter that does not convert is
caught and the backend silently uses its default: Triton loads the model, so that is a WARNING, as
is a parameter name the backend never reads (usually a typo). `${...}` placeholders left by
fill_template.py are checked in misc.

Batch size: the tensorrtllm_backend templates fill `max_batch_size` of tensorrt_llm,
preprocessing, postprocessing, tensorrt_llm_bls and ensemble from one `triton_max_batch_size`.
An ensemble with a tensorrtllm step whose steps disagree on max_batch_size was filled
inconsistently (a WARNING; Triton itself refuses only an ensemble larger than a step); an engine
in the version folder built for fewer sequences than max_batch_size is a WARNING too.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from compiler.rules.base import error, resolve_backend, suggest, warning
from compiler.rules.versions import versions_to_load

DATA = Path(__file__).resolve().parent.parent / "data" / "tensorrtllm_parameters.json"
MODEL_TYPES = ("V1", "v1", "inflight_batching", "inflight_fused_batching")
_INT = re.compile(r"^\s*[+-]?\d+")
_UINT = re.compile(r"^\s*\+?\d+")
_FLOAT = re.compile(r"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)", re.I)
_BOOLS = ("True", "true", "TRUE", "1", "False", "false", "FALSE", "0")
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_EXPECT = {"int": "an integer", "uint": "a non-negative integer", "float": "a number", "bool": "true or false",
           "int_list": "comma-separated integers"}


@functools.lru_cache(maxsize=1)
def parameters() -> tuple:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return data["parameters"], data["source"]


def _converts(kind: str, text: str) -> bool:
    if kind == "int":
        return bool(_INT.match(text))
    if kind == "uint":
        return bool(_UINT.match(text))
    if kind == "float":
        return bool(_FLOAT.match(text))
    if kind == "bool":
        return text in _BOOLS
    if kind == "int_list":
        return all(_INT.match(part) for part in text.split(","))
    return True


def _parameters(config) -> list:
    known, source = parameters()
    out = []
    if "gpt_model_type" not in config.parameters:
        out.append(error("tensorrtllm-parameter", "parameter 'gpt_model_type' is missing: the TensorRT-LLM backend "
                         "fails the load (\"Cannot find parameter with name: gpt_model_type\")", ("parameters",),
                         hint="add `gpt_model_type: inflight_fused_batching` (or inflight_batching, v1)"))
    for key in sorted(config.parameters):
        text = config.parameters[key].string_value
        path = ("parameters", key)
        if _PLACEHOLDER.search(text):
            continue  # reported by misc as an unrendered placeholder
        if key == "gpt_model_type":
            if text not in MODEL_TYPES:
                out.append(error("tensorrtllm-parameter", f"Invalid gpt_model_type '{text}'. Must be "
                                 "v1/inflight_batching/inflight_fused_batching.", path + ("string_value",),
                                 hint="inflight_fused_batching is what the templates use"))
            continue
        kind = known.get(key)
        if kind is None:
            close = suggest(key, known)
            out.append(warning("tensorrtllm-parameter", f"the TensorRT-LLM backend does not read parameter '{key}'"
                               + (f"; {close}" if close else ""), path,
                               hint=f"it is ignored; parameters the backend reads come from {source}"))
        elif not _converts(kind, text):
            out.append(warning("tensorrtllm-parameter", f"parameter '{key}' is '{text}', not {_EXPECT[kind]}: the "
                               "TensorRT-LLM backend logs a warning and uses its default", path + ("string_value",),
                               hint=f"write {_EXPECT[kind]}"))
    return out


def _engine_batch(config, ctx) -> list:
    if ctx.model_folder is None or ctx.versions is None or config.max_batch_size <= 0:
        return []
    out = []
    for version in sorted(versions_to_load(config, ctx.versions)):
        path = ctx.model_folder.version_path(version, "config.json")
        if path is None:
            continue
        try:
            with open(path, "rb") as handle:
                engine = json.loads(handle.read(2_000_000).decode("utf-8"))
            built = int(engine["build_config"]["max_batch_size"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not an engine config this check understands
        if config.max_batch_size > built:
            out.append(warning("tensorrtllm-batch-size", f"max_batch_size {config.max_batch_size} is larger than the "
                               f"engine in version {version} was built for ({built})", ("max_batch_size",),
                               hint=f"set max_batch_size (triton_max_batch_size) to at most {built}, or rebuild "
                                    "the engine with a larger --max_batch_size"))
    return out


def _ensemble_batch(config, ctx) -> list:
    steps = list(config.ensemble_scheduling.step)
    configs = {s.model_name: ctx.model_configs.get(s.model_name) for s in steps}
    llm = [name for name, c in configs.items() if c is not None and c.backend == "tensorrtllm"]
    if not llm:
        return []
    wanted = configs[llm[0]].max_batch_size
    out = []
    if config.max_batch_size != wanted:
        out.append(warning("tensorrtllm-batch-size", f"max_batch_size {config.max_batch_size} differs from "
                           f"{wanted} of its TensorRT-LLM step '{llm[0]}'", ("max_batch_size",),
                           hint="the templates fill every model of the pipeline from one triton_max_batch_size"))
    for i, step in enumerate(steps):
        other = configs.get(step.model_name)
        if other is not None and other.max_batch_size != wanted and step.model_name not in llm:
            out.append(warning("tensorrtllm-batch-size", f"step '{step.model_name}' has max_batch_size "
                               f"{other.max_batch_size}, its TensorRT-LLM step '{llm[0]}' {wanted}",
                               ("ensemble_scheduling", "step", i, "model_name"),
                               hint="the templates fill every model of the pipeline from one triton_max_batch_size"))
    return out


def check(config, ctx) -> list:
    if config.platform == "ensemble":
        return _ensemble_batch(config, ctx)
    if resolve_backend(config, ctx).backend != "tensorrtllm":
        return []
    return _parameters(config) + _engine_batch(config, ctx)

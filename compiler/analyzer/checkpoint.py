"""Model Analyzer's checkpoint (`checkpoints/<n>.ckpt`): its whole state as one JSON object.

Read from Model Analyzer v1.53.0 (triton-inference-server/model_analyzer, tag v1.53.0):
`AnalyzerStateManager.save_checkpoint` (model_analyzer/state/analyzer_state_manager.py)
`json.dump`s the state dict with `default_encode` (an object's `to_dict()`, else its
`__dict__`); `AnalyzerState.from_dict` (state/analyzer_state.py) names the keys:
- "ResultManager.results" -> `Results` (result/results.py):
  {"_results": {model: {variant: [run config, {perf config key: measurement}]}}};
- a run config (config/run/run_config.py, model_run_config.py) is its `__dict__`:
  "_model_run_configs": [{"_model_name", "_model_config_variant": {"model_config": <the
  ModelConfig as json_format.MessageToDict>, "variant_name", "cpu_only"}, "_perf_config",
  "_composing_config_variants": [...]}];
- a measurement (result/run_config_measurement.py `to_dict`): "_model_variants_name",
  "_gpu_data": {gpu uuid: [[tag, {"_value", ...}], ...]}, "_model_config_measurements":
  [{"_model_config_name", "_model_specific_pa_params": {"batch-size", "concurrency-range",
  "request-rate-range"}, "_non_gpu_data": [[tag, {"_value", ...}], ...]}]
  (result/model_config_measurement.py; a record is `(tag, __dict__)`, record/record.py);
- "MetricsManager.gpus": {gpu uuid: {"name", "total_memory"}}.
Record tags: perf_throughput (infer/sec), perf_latency_p99 (ms), gpu_used_memory (MB).
"""
from __future__ import annotations

import json
from pathlib import Path

from compiler.analyzer.configs import parse_json_config
from compiler.analyzer.results import Measurement, Results
from compiler.errors import FatalError

MAX_BYTES = 1 << 30
RESULTS = "ResultManager.results"


def _load(path: Path) -> dict:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise FatalError(f"{path}: larger than 1 GB; not read")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FatalError(f"{path}: not JSON ({exc})", "Model Analyzer checkpoints are JSON; is the file cut short?")
    if not isinstance(data, dict) or not isinstance(data.get(RESULTS), dict) \
            or not isinstance(data[RESULTS].get("_results"), dict):
        raise FatalError(f"{path}: not a Model Analyzer checkpoint: no {RESULTS}._results",
                         "give checkpoints/<n>.ckpt as `model-analyzer profile` wrote it")
    return data


def _records(items) -> dict:
    """[[tag, {"_value": v}], ...] -> {tag: v}."""
    out = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
            value = item[1].get("_value")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[item[0]] = float(value)
    return out


def _int(value):
    return int(value) if isinstance(value, (int, str)) and str(value).lstrip("-").isdigit() else None


def _measurement(path: Path, variant: str, key: str, data) -> Measurement:
    where = f"{path}: {variant}: measurement {key!r}"
    parts = data.get("_model_config_measurements") if isinstance(data, dict) else None
    if not isinstance(parts, list) or len(parts) != 1 or not isinstance(parts[0], dict):
        raise FatalError(f"{where}: expected one model's measurement", "the checkpoint is not as Model Analyzer wrote it")
    metrics = _records(parts[0].get("_non_gpu_data"))
    missing = [tag for tag in ("perf_throughput", "perf_latency_p99") if tag not in metrics]
    if missing:
        raise FatalError(f"{where}: no {', '.join(missing)} record", "the measurement may have failed in perf_analyzer")
    params = parts[0].get("_model_specific_pa_params") or {}
    memory = [r["gpu_used_memory"] for r in (_records(v) for v in (data.get("_gpu_data") or {}).values())
              if "gpu_used_memory" in r]
    return Measurement(variant, _int(params.get("batch-size")), _int(params.get("concurrency-range")),
                       _int(params.get("request-rate-range")), metrics["perf_throughput"],
                       metrics["perf_latency_p99"], sum(memory) if memory else None, where=where)


def read_checkpoint(path: Path) -> Results:
    data = _load(path)
    gpus = data.get("MetricsManager.gpus")
    results = Results("checkpoint", path, gpus=sorted({g.get("name", "") for g in gpus.values()
                                                       if isinstance(g, dict) and g.get("name")})
                      if isinstance(gpus, dict) else [])
    configs: dict = {}
    for model, variants in data[RESULTS]["_results"].items():
        if not isinstance(variants, dict):
            continue
        if "," in model:
            for name in model.split(","):
                results.unsupported[name] = f"{path}: models profiled together ({model})"
            continue
        for variant, pair in variants.items():
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], dict)
                    and isinstance(pair[1], dict)):
                raise FatalError(f"{path}: {model}/{variant}: expected [run config, measurements]",
                                 "the checkpoint is not as Model Analyzer wrote it")
            runs = pair[0].get("_model_run_configs") or [{}]
            run = runs[0] if isinstance(runs[0], dict) else {}
            if run.get("_composing_config_variants"):
                results.unsupported[model] = f"{path}: {model} is an ensemble or BLS model ({variant})"
                break
            configs[(model, variant)] = (run.get("_model_config_variant") or {}).get("model_config")
            for key, measurement in pair[1].items():
                results.models.setdefault(model, []).append(_measurement(path, variant, key, measurement))

    def read_config(model: str, variant: str):
        return parse_json_config(configs.get((model, variant)), f"{path}: {model}/{variant}")

    results.config_reader = read_config
    return results

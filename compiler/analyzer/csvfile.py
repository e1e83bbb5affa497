"""Model Analyzer's results CSVs (`results/metrics-model-inference.csv` and
`results/metrics-model-gpu.csv`) and the config folders of its output model repository.

Read from Model Analyzer v1.53.0 (triton-inference-server/model_analyzer, tag v1.53.0):
- the columns are chosen by the profile config's `inference_output_fields` /
  `gpu_output_fields` (defaults: `DEFAULT_INFERENCE_OUTPUT_FIELDS`, `DEFAULT_GPU_OUTPUT_FIELDS`
  and the request-rate variants in model_analyzer/config/input/config_defaults.py);
- a field's column header is `ResultTableManager.headers` for the fixed fields
  (model_analyzer/result/result_table_manager.py) and the record type's `header()` for a
  metric (model_analyzer/record/types/*.py, without the aggregation tag);
- rows are written by `ResultTable.to_formatted_string(separator=",")` after
  `result_utils.format_for_csv` (a one-element list is its element; a longer list, or a
  string with a comma, is quoted); metrics are rounded to 0.1; the file ends with a blank line;
- `Model Config Path` is the variant's name (`<model>_config_<n>`, `<model>_config_default`;
  an ensemble's is `<ens>_config_<n>: <step>_config_<m>, ...`), and
  `output_model_repository/<variant>/config.pbtxt` is that variant's config
  (record/metrics_manager.py, `_create_non_remote_mode_model_variant`).
The GPU CSV has one row per GPU and measurement; GPU memory is summed over a measurement's
GPUs, as Model Analyzer itself adds gpu_used_memory records up (gpu_used_memory.py).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

from compiler.analyzer.configs import parse_pbtxt
from compiler.analyzer.results import GPU_CSV, OUTPUT_REPOSITORY, Measurement, Results
from compiler.errors import FatalError

# Column headers (ResultTableManager.headers and the record types' header()).
MODEL, CONFIG, BATCH, CONCURRENCY, REQUEST_RATE = "Model", "Model Config Path", "Batch", "Concurrency", "Request Rate"
SATISFIES, MAX_BATCH_SIZE = "Satisfies Constraints", "Max Batch Size"
THROUGHPUT, P99 = "Throughput (infer/sec)", "p99 Latency (ms)"  # perf_throughput, perf_latency_p99
GPU_MEMORY = "GPU Memory Usage (MB)"  # gpu_used_memory
# The Model Analyzer field each required column comes from, for the hint.
_REQUIRED = {MODEL: "model_name", CONFIG: "model_config_path", THROUGHPUT: "perf_throughput", P99: "perf_latency_p99"}
MAX_BYTES = 64 * 1024 * 1024


def _rows(path: Path):
    """(header, [(line number, {column: cell})]) of a Model Analyzer CSV."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise FatalError(f"{path}: larger than {MAX_BYTES >> 20} MB; not a Model Analyzer results file")
        with open(path, encoding="utf-8", newline="") as handle:  # line breaks as written, for csv
            text = handle.read()
    except UnicodeDecodeError:
        raise FatalError(f"{path}: not a text file", "expected Model Analyzer's CSV (results/*.csv)")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror}")
    header, rows = None, []
    reader = csv.reader(io.StringIO(text, newline=""))  # a quoted cell may hold a line break
    for cells in reader:
        number = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # Model Analyzer ends its tables with a blank line
        if header is None:
            header = [c.strip() for c in cells]
            continue
        if len(cells) != len(header):
            raise FatalError(f"{path}:{number}: {len(cells)} cells where the header has {len(header)}",
                             "the file is not as Model Analyzer wrote it")
        rows.append((number, dict(zip(header, (c.strip() for c in cells)))))
    if header is None:
        raise FatalError(f"{path}: empty", "Model Analyzer writes it when `profile` has measured something")
    return header, rows


def _number(path, number, column, text, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise FatalError(f"{path}:{number}: column {column!r}: {text!r} is not a number",
                         "a list here means several models were measured together, which is not supported")


def _optional_int(path, number, row, column):
    text = row.get(column, "")
    return _number(path, number, column, text, int) if text not in ("", "None") else None


def _gpu_memory(path: Path) -> dict:
    """(model, variant, batch, concurrency, request rate) -> MB summed over the GPUs."""
    if not path.is_file():
        return {}
    header, rows = _rows(path)
    if GPU_MEMORY not in header or CONFIG not in header:
        return {}
    memory: dict = {}
    for number, row in rows:
        key = (row.get(MODEL, ""), row[CONFIG], row.get(BATCH, ""), row.get(CONCURRENCY, ""),
               row.get(REQUEST_RATE, ""))
        memory[key] = memory.get(key, 0.0) + _number(path, number, GPU_MEMORY, row[GPU_MEMORY])
    return memory


def read_csv_results(path: Path, configs: Optional[Path] = None) -> Results:
    header, rows = _rows(path)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        fields = ", ".join(_REQUIRED[c] for c in missing)
        raise FatalError(f"{path}: no column {', '.join(repr(c) for c in missing)}; the header is: {','.join(header)}",
                         f"this is not metrics-model-inference.csv, or its inference_output_fields left out {fields}")
    memory = _gpu_memory(path.parent / GPU_CSV)
    results = Results("csv", path, config_reader=_ConfigFolders(path, configs))
    for number, row in rows:
        model, variant = row[MODEL], row[CONFIG]
        if "," in model or ": " in variant:
            kind = "an ensemble or BLS model" if ": " in variant else "models profiled together"
            for name in model.split(","):
                results.unsupported[name.strip()] = f"{path}:{number}: {kind} ({row[MODEL]}: {variant})"
            continue
        satisfies = row.get(SATISFIES)
        key = (model, variant, row.get(BATCH, ""), row.get(CONCURRENCY, ""), row.get(REQUEST_RATE, ""))
        measurement = Measurement(
            variant, _optional_int(path, number, row, BATCH), _optional_int(path, number, row, CONCURRENCY),
            _optional_int(path, number, row, REQUEST_RATE),
            _number(path, number, THROUGHPUT, row[THROUGHPUT]), _number(path, number, P99, row[P99]),
            memory.get(key), satisfies=None if satisfies is None else satisfies == "Yes", where=f"{path}:{number}",
            max_batch_size=_optional_int(path, number, row, MAX_BATCH_SIZE))
        results.models.setdefault(model, []).append(measurement)
    return results


class _ConfigFolders:
    """Reads `<output model repository>/<variant>/config.pbtxt`. The repository is --configs,
    else `output_model_repository` beside `results/` or beside the CSV (Model Analyzer's
    default puts both in the folder it was started in)."""

    def __init__(self, csv_path: Path, given: Optional[Path]):
        self.csv_path = csv_path
        folder = csv_path.resolve().parent
        self.candidates = [given] if given is not None else [folder.parent / OUTPUT_REPOSITORY,
                                                            folder / OUTPUT_REPOSITORY]

    def __call__(self, model: str, variant: str):
        for repository in self.candidates:
            config = repository / variant / "config.pbtxt"
            if config.is_file():
                return parse_pbtxt(config)
        looked = " and ".join(str(r / variant / "config.pbtxt") for r in self.candidates)
        raise FatalError(f"{self.csv_path}: the config of {variant} is not at {looked}",
                         "pass --configs DIR: the --output-model-repository-path Model Analyzer wrote to")

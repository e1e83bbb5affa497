"""Model Analyzer's output, read into one shape whichever file it came from.

Model Analyzer (`model-analyzer profile`) measures each config variant it generates at
several client settings (batch size x concurrency, or request rate). Every such
measurement becomes one `Measurement`; a variant's ModelConfig is read on demand, from
`output_model_repository/<variant>/config.pbtxt` (CSV route) or from the checkpoint.
The file formats are read by `compiler.analyzer.csvfile` and `compiler.analyzer.checkpoint`.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from compiler.errors import FatalError

INFERENCE_CSV = "metrics-model-inference.csv"  # config_defaults.DEFAULT_FILENAME_MODEL_INFERENCE
GPU_CSV = "metrics-model-gpu.csv"  # config_defaults.DEFAULT_FILENAME_MODEL_GPU
OUTPUT_REPOSITORY = "output_model_repository"  # config_defaults.DEFAULT_OUTPUT_MODEL_REPOSITORY's folder
CHECKPOINTS = "checkpoints"  # config_defaults.DEFAULT_CHECKPOINT_DIRECTORY's folder
_CKPT = re.compile(r"^(\d+)\.ckpt$")


@dataclass
class Measurement:
    """One perf_analyzer run of one config variant."""
    config: str  # the variant: <model>_config_<n> or <model>_config_default
    batch_size: Optional[int]
    concurrency: Optional[int]  # None in request-rate mode
    request_rate: Optional[int]
    throughput: float  # inferences per second
    p99_ms: float  # p99 latency, milliseconds
    gpu_memory_mb: Optional[float] = None  # summed over the GPUs used; None without GPU figures
    satisfies: Optional[bool] = None  # Model Analyzer's own constraints ("Satisfies Constraints"), if recorded
    max_batch_size: Optional[int] = None  # the CSV's "Max Batch Size" column, checked against the config
    where: str = ""  # file:line (CSV) or the checkpoint's measurement key, for messages

    def load(self) -> str:
        """`batch 2, concurrency 4` (or `request rate 64`)."""
        parts = []
        if self.batch_size is not None:
            parts.append(f"batch {self.batch_size}")
        if self.concurrency is not None:
            parts.append(f"concurrency {self.concurrency}")
        if self.request_rate is not None:
            parts.append(f"request rate {self.request_rate}")
        return ", ".join(parts) or "one client setting"


@dataclass
class Results:
    kind: str  # "csv" or "checkpoint"
    path: Path  # the file measurements came from
    models: dict = field(default_factory=dict)  # model -> [Measurement]
    unsupported: dict = field(default_factory=dict)  # model -> why its results cannot be imported
    gpus: list = field(default_factory=list)  # GPU names, when the source records them
    config_reader: Optional[Callable] = None  # (model, variant) -> ModelConfig; FatalError if unreadable

    def read_config(self, model: str, variant: str):
        if self.config_reader is None:  # every reader of results sets one (csvfile, checkpoint)
            raise FatalError(f"{self.path}: no model configs to read")
        return self.config_reader(model, variant)


def latest_checkpoint(folder: Path) -> Optional[Path]:
    """The `<n>.ckpt` with the highest n, the one Model Analyzer itself resumes from."""
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CKPT.match(p.name)) and p.is_file()]
    return max(found)[1] if found else None


def open_results(path, configs: Optional[Path] = None) -> Results:
    """Read a checkpoint (`*.ckpt`), a results CSV, or a folder holding either.

    A folder is looked at as Model Analyzer leaves its working folder: `checkpoints/` (the
    checkpoint wins: it holds the configs and every metric), else `results/` with
    `metrics-model-inference.csv` (also the folder given being `results/` itself)."""
    from compiler.analyzer.checkpoint import read_checkpoint  # noqa: PLC0415 - a cycle: it imports Results
    from compiler.analyzer.csvfile import read_csv_results  # noqa: PLC0415 - a cycle: it imports Results

    path = Path(path)
    if not path.exists():
        raise FatalError(f"{path}: no such file or folder",
                         "give Model Analyzer's export folder, its results/metrics-model-inference.csv "
                         "or a checkpoint (checkpoints/<n>.ckpt)")
    if path.is_file():
        if path.suffix == ".ckpt":
            return read_checkpoint(path)
        return read_csv_results(path, configs)
    for folder in (path / CHECKPOINTS, path):
        if folder.is_dir() and (found := latest_checkpoint(folder)) is not None:
            return read_checkpoint(found)
    for candidate in (path / "results" / INFERENCE_CSV, path / INFERENCE_CSV):
        if candidate.is_file():
            return read_csv_results(candidate, configs)
    raise FatalError(f"{path}: no Model Analyzer results here: looked for checkpoints/<n>.ckpt and "
                     f"results/{INFERENCE_CSV}",
                     "pass the export folder of `model-analyzer profile` (its --export-path), or the "
                     "CSV or checkpoint file itself")

"""A variant's ModelConfig, from the file or JSON Model Analyzer wrote it to."""
from __future__ import annotations

from pathlib import Path

from google.protobuf import json_format, text_format

from compiler.errors import FatalError
from compiler.proto import ModelConfig


def parse_pbtxt(path: Path):
    try:
        text = path.read_text(encoding="utf-8")
        return text_format.Parse(text, ModelConfig())
    except (OSError, UnicodeDecodeError) as exc:
        raise FatalError(f"{path}: cannot read: {exc}")
    except text_format.ParseError as exc:
        line, column = exc.GetLine() or 0, exc.GetColumn() or 0
        raise FatalError(f"{path}:{line}:{column}: not a ModelConfig: {str(exc).split(' : ', 1)[-1]}",
                         "Model Analyzer writes these files itself; was it edited?")


def parse_json_config(data, where: str):
    """A checkpoint keeps each variant's config as `json_format.MessageToDict` output
    (camelCase names, 64-bit integers as strings), which ParseDict reads back."""
    if not isinstance(data, dict):
        raise FatalError(f"{where}: the model config is not a JSON object")
    try:
        return json_format.ParseDict(data, ModelConfig())
    except json_format.ParseError as exc:
        raise FatalError(f"{where}: not a ModelConfig: {exc}",
                         "was the checkpoint written by another Model Analyzer or Triton release?")

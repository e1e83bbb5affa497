"""A custom batching strategy library (parameter TRITON_BATCH_STRATEGY_PATH).

Judged with a real tritonserver 2.51 (tests/judge):
- with a sequence batcher the model is refused ("TRITON_BATCH_STRATEGY_PATH cannot be specified
  with sequence batcher");
- Triton opens the path as written, so a relative path depends on the server's working
  directory, not the model folder, and is refused ("Batching library path not found");
- an absolute path must exist on the server: it is declared as installed (compiler.rules.installed).
"""
from __future__ import annotations

import posixpath

from compiler.rules.base import error

KEY = "TRITON_BATCH_STRATEGY_PATH"


def check(config, ctx) -> list:
    if KEY not in config.parameters:
        return []
    path = ("parameters", KEY)
    value = config.parameters[KEY].string_value
    if config.HasField("sequence_batching"):
        return [error("batch-strategy-sequence", f"{KEY} cannot be specified with sequence batcher", path,
                      hint="a custom batching strategy works with the dynamic batcher only; remove the parameter")]
    if not value or not posixpath.isabs(value):
        return [error("batch-strategy-path", f"Batching library path not found: {value}: Triton opens "
                      f"{KEY} as written, so a relative path is looked up in the server's working directory, "
                      "not in the model folder", path,
                      hint="give the absolute path of the library on the server, or drop the parameter and put "
                           "batchstrategy.so into the model or version folder, where Triton finds it by itself")]
    return []

#!/usr/bin/env python3
"""Regenerate compiler/data/vllm_engine_args.json: the keys vLLM's Triton backend accepts in
model.json, i.e. the dataclass fields of vLLM's EngineArgs and AsyncEngineArgs (the backend
calls AsyncEngineArgs(**json.load(model.json)), so any other key fails the load).

    python scripts/vllm_engine_args.py <vllm checkout>/vllm/engine/arg_utils.py "<vllm version or commit>" \
        > compiler/data/vllm_engine_args.json

Reads the file with `ast` (vLLM itself, which needs torch, is not imported).
"""
from __future__ import annotations

import ast
import json
import sys

CLASSES = ("EngineArgs", "AsyncEngineArgs")


def engine_args(source: str) -> list:
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name in CLASSES:
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.append(item.target.id)
    return sorted(set(names))


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        names = engine_args(handle.read())
    if not names:
        print(f"no EngineArgs fields found in {argv[1]}", file=sys.stderr)
        return 1
    json.dump({"source": f"vllm-project/vllm vllm/engine/arg_utils.py, {argv[2]}: fields of "
                         + " and ".join(CLASSES), "engine_args": names}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

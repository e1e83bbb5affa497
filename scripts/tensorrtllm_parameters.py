#!/usr/bin/env python3
"""Regenerate compiler/data/tensorrtllm_parameters.json: the `parameters` the TensorRT-LLM backend
reads and the C++ type it converts each to (GetParameter<T>("name") in its model state sources).

    python scripts/tensorrtllm_parameters.py <tensorrtllm_backend git dir> <commit> \
        > compiler/data/tensorrtllm_parameters.json

The backend sources lived in triton-inference-server/tensorrtllm_backend's inflight_batcher_llm/src
until 2025-05 (commit c2e65b8 is the last with them; later they moved into NVIDIA/TensorRT-LLM).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

SOURCES = ("inflight_batcher_llm/src/model_instance_state.cc", "inflight_batcher_llm/src/model_state.cc")
TEMPLATE = "all_models/inflight_batcher_llm/tensorrt_llm/config.pbtxt"
_CALL = re.compile(r'GetParameter<\s*([\w:]+(?:<[\w:]+>)?)\s*>\(\s*"(\w+)"')
_INDIRECT = re.compile(r'fieldName\s*=\s*"(\w+)"[\s\S]*?GetParameter<\s*([\w:]+)\s*>\(\s*fieldName\s*\)')
_KEY = re.compile(r'key:\s*"(\w+)"')
# C++ type -> the kind of text the conversion accepts.
KINDS = {
    "int": "int", "int32_t": "int", "SizeType32": "int", "int64_t": "int",
    "uint32_t": "uint", "uint64_t": "uint", "size_t": "uint",
    "float": "float", "bool": "bool", "std::string": "string",
    "std::vector<int32_t>": "int_list",
    "executor::MedusaChoices": "choices", "executor::EagleChoices": "choices",
}


def _show(git_dir, commit, path) -> str:
    done = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def main(argv) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    git_dir, commit = argv[1], argv[2]
    source = "".join(_show(git_dir, commit, p) for p in SOURCES)
    found = {}
    for cxx, name in _CALL.findall(source):
        found.setdefault(name, KINDS.get(cxx, "string"))
    for name, cxx in _INDIRECT.findall(source):
        found.setdefault(name, KINDS.get(cxx, "string"))
    for name in _KEY.findall(_show(git_dir, commit, TEMPLATE)):
        found.setdefault(name, "string")
    if not found:
        print(f"no GetParameter calls found at {commit}", file=sys.stderr)
        return 1
    json.dump({"source": f"triton-inference-server/tensorrtllm_backend at {commit}: GetParameter<T> calls in "
                         + ", ".join(SOURCES) + f" and the keys of {TEMPLATE}",
               "parameters": dict(sorted(found.items()))}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

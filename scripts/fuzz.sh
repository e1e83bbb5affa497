#!/usr/bin/env bash
# Long fuzz run of the hardening properties (tests/hardening) with a configurable number of cases:
#   scripts/fuzz.sh                      # 10,000 cases, seed 0
#   scripts/fuzz.sh 100000 --seed 7      # any options of scripts/fuzz_long.py
# Prints the count of cases run and of failures; exit 1 if any case failed (the smallest input of
# each distinct failure is saved under build/fuzz-failures/). PYTHON=... uses another interpreter
# instead of bootstrapping .venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
    bash scripts/bootstrap.sh >/dev/null
    PYTHON="$ROOT/.venv/bin/python"
fi

CASES=10000
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    CASES="$1"
    shift
fi

exec "$PYTHON" scripts/fuzz_long.py --cases "$CASES" "$@"

#!/usr/bin/env bash
# Run the test suite: make sure the environment is bootstrapped, then pytest.
#   scripts/test.sh                      # everything under tests/
#   scripts/test.sh tests/support -x     # any pytest arguments
# pytest's exit code is passed through unchanged (exec).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh

# -p no:cacheprovider: no .pytest_cache in the work tree (CI runs in a clone).
exec "$ROOT/.venv/bin/python" -m pytest -p no:cacheprovider "$@"

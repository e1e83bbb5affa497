#!/usr/bin/env bash
# Run the test suite: make sure the environment is bootstrapped, run the static checks, then pytest.
#   scripts/test.sh                      # everything under tests/
#   scripts/test.sh tests/support -x     # any pytest arguments
# A static check that fails stops the run before pytest (exit 1); otherwise pytest's exit code is
# passed through unchanged (exec).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh

# Static checks, configured in pyproject.toml: ruff (style and likely bugs), import-linter (the
# layer contract: no upward import, no cycle between subpackages) and mypy (types). No caches are
# left in the work tree (ruff and import-linter: --no-cache; mypy's goes to .venv).
"$ROOT/.venv/bin/ruff" check --no-cache --quiet compiler tests scripts bench \
    || { echo "test.sh: ruff found problems (above)" >&2; exit 1; }
if ! layers="$("$ROOT/.venv/bin/lint-imports" --no-cache 2>&1)"; then  # its report only when broken
    echo "$layers" >&2
    echo "test.sh: the import layers are broken (above; contract in pyproject.toml)" >&2
    exit 1
fi
if ! types="$("$ROOT/.venv/bin/mypy" --cache-dir "$ROOT/.venv/.mypy_cache" 2>&1)"; then
    echo "$types" >&2
    echo "test.sh: mypy found type errors (above)" >&2
    exit 1
fi

# Two workers (pytest-xdist), each test file on one of them (--dist loadfile: a module's
# tritonserver or emulator is started once): most of the suite waits on servers, so two halve
# its time even on two cores. TRITON_GITOPS_TEST_WORKERS=0 runs in this process (a debugger,
# print debugging); any other number sets the workers.
WORKERS="${TRITON_GITOPS_TEST_WORKERS:-2}"
PARALLEL=()
if [[ "$WORKERS" != "0" ]]; then
    PARALLEL=(-n "$WORKERS" --dist loadfile)
fi
# -p no:cacheprovider: no .pytest_cache in the work tree (CI runs in a clone).
exec "$ROOT/.venv/bin/python" -m pytest -p no:cacheprovider "${PARALLEL[@]}" "$@"

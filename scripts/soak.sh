#!/usr/bin/env bash
# The long, seeded runs of the sync crash and fault tests (estimated 10-15 minutes on 2 cores).
# The suite (scripts/test.sh) aims its kills at each stage of a sync: every write of an S3
# sync, 8 spread operations of a local one, both sides of the folder swap under a polling
# tritonserver. This run adds, on top of those, many kill points drawn from fixed seeds:
#   scripts/soak.sh                      # HARDENING_KILLS=50
#   HARDENING_KILLS=200 scripts/soak.sh  # more kills; any pytest arguments may follow
# What it sets (docs/reliability.md):
#   HARDENING_KILLS=N           S3: N more kills at seeded request numbers, and 5 seeded points
#                               where storage goes away; local folder: N seeded kills instead
#                               of the spread ones
#   TRITON_KILLS_EVERY_OTHER=1  the polling-tritonserver test kills at every other operation
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export HARDENING_KILLS="${HARDENING_KILLS:-50}"
export TRITON_KILLS_EVERY_OTHER=1
exec bash scripts/test.sh \
    tests/hardening/test_sync_faults.py \
    tests/hardening/test_sync_crash_local.py \
    "tests/sync/test_triton.py::test_a_polling_triton_never_serves_a_version_half_changed_even_when_the_sync_is_killed" \
    -q -s "$@"

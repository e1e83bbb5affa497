#!/usr/bin/env bash
# s3rver, a second S3 emulator (Node, objects kept as files on disk), for the scale bench only:
#   bash scripts/install_s3rver.sh
#   .venv/bin/python bench/scale_bench.py --sizes 10000 --s3 --s3-emulator moto,s3rver
# Installed under .tools/ beside Azurite, from npm; not part of bootstrap.sh (no test needs it).
# Why a second emulator: moto spends ~0.35-0.4 s of its own CPU per 1,000-key listing page of a
# 30,000-object bucket, s3rver ~0.19 s (docs/benchmarks.md), so the S3 plan's wall time on moto
# is mostly moto's. Idempotent: a second run does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VERSION="3.7.1"

if [[ -f "$TOOLS/node_modules/s3rver/bin/s3rver.js" ]]; then
    echo "install_s3rver: s3rver already in $TOOLS"
    exit 0
fi
command -v npm >/dev/null || { echo "install_s3rver: ERROR: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
mkdir -p "$TOOLS"
npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "s3rver@$VERSION" >/dev/null \
    || { echo "install_s3rver: ERROR: npm install s3rver@$VERSION failed" >&2; exit 1; }
[[ -f "$TOOLS/node_modules/s3rver/bin/s3rver.js" ]] \
    || { echo "install_s3rver: ERROR: s3rver missing after npm install" >&2; exit 1; }
echo "install_s3rver: s3rver $VERSION installed in $TOOLS"

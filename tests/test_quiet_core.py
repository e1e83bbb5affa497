"""The stages never print: what a user reads is returned as data (problems, notes, results) and
written by the commands (compiler/commands/) and the shell around them. A module outside them
that reaches stdout or stderr must be one of the exceptions below, each with its reason."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "compiler"

# The edge: the commands and the shell that runs them.
EDGE = ("commands/",)
EXCEPTIONS = {
    "cli.py": "the shell: its one error handler prints the fatal error and the interrupt",
    "usage.py": "argparse's parser: usage and help on a command-line error",
    "console.py": "the presentation the commands call: report_problems writes to the stream they pass (stdout "
                  "when none)",
    "sync/progress.py": "sync's progress bar, handed its stream by the command (stderr when none)",
    "storage/redact.py": "with TRITON_GITOPS_DEBUG set, the SDKs' debug log on stderr, scrubbed of secrets",
    "fastpath/prefetch.py": "flushes stdout and stderr before the fork, so the helper does not write them twice",
    "scaffold/__main__.py": "`python -m compiler.scaffold`, a maintainer's script that says which files it wrote",
}


def _writes(tree: ast.AST) -> list:
    """(line, what) of every print(), sys.stdout/sys.stderr, logging.StreamHandler, warnings.warn."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append((node.lineno, "print()"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in {("sys", "stdout"), ("sys", "stderr"), ("sys", "__stdout__"), ("sys", "__stderr__"),
                        ("logging", "StreamHandler"), ("warnings", "warn")}:
                found.append((node.lineno, ".".join(pair)))
    return found


def test_only_the_edge_writes_to_stdout_or_stderr():
    unexpected, exceptions_seen = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith(EDGE):
            continue
        writes = _writes(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if rel in EXCEPTIONS:
            if writes:
                exceptions_seen.add(rel)
            continue
        unexpected.extend(f"compiler/{rel}:{line}: {what}" for line, what in writes)
    assert unexpected == [], "the stages return what to show; the commands show it (compiler/notes.py):\n" + \
        "\n".join(unexpected)
    assert exceptions_seen == set(EXCEPTIONS), f"no longer writes, drop it from EXCEPTIONS: " \
                                               f"{sorted(set(EXCEPTIONS) - exceptions_seen)}"


def test_the_scan_sees_a_write():
    assert [w for _, w in _writes(ast.parse("import sys\nprint('x', file=sys.stderr)\n"))] == \
        ["print()", "sys.stderr"]
    assert _writes(ast.parse("'''print(1)'''\nx = printable('y')\n")) == []

"""File names with control characters never reach a terminal, a CI log or a PR comment raw.

A model's source folder holds real files named with CR (which in a GitHub Actions log would
start a `::error::` workflow command), ESC (terminal escape sequences) and U+202E (a bidi
override that shows `gnp.py` as `yp.png`). Every command that names files (validate, compile,
plan, sync, lock, targets, report, and the error path) runs as a real process; its output
must hold none of those characters, no line that starts with `::` and no `##[` (the runner
obeys `##[command]` anywhere in a line).
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.gitops.gitutil import commit_all, git, init_repo
from tests.helpers import REPO

HOSTILE = ["x\r::error::forged", "\x1b[2Jclear", "\u202egnp.py", "\x1b]0;title\x07bell", "z\u2028::warning::ls",
           "##[warning]legacy", "::error::first"]
RAW = ["\r", "\x1b", "\x07", "\u202e", "\u2028"]

MANIFEST = """version: 1
models:
  m:
    backend: python
    input: [{name: X, data_type: FP32, dims: [1]}]
    output: [{name: Y, data_type: FP32, dims: [1]}]
    versions:
      1: {source: models/m/1}
targets:
  local: {url: build/repo}
"""


def cli(repo, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=repo, capture_output=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(repo),
                               "XDG_CACHE_HOME": str(repo / ".cache"), "GIT_CONFIG_NOSYSTEM": "1"})


def assert_clean(result: subprocess.CompletedProcess, what: str) -> str:
    text = (result.stdout + result.stderr).decode("utf-8")
    for char in RAW:
        assert char not in text, f"{what}: raw {char!r} in its output:\n{text}"
    for line in text.split("\n"):
        assert not line.lstrip().startswith("::"), f"{what}: a workflow-command line: {line!r}"
    assert "##[" not in text, f"{what}: a legacy workflow command (obeyed anywhere in a line):\n{text}"
    return text


@pytest.fixture
def repo(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitignore").write_text("build/\n.cache/\n")
    (repo / "models/m/1").mkdir(parents=True)
    (repo / "models/m/1/model.py").write_text("# m\n")
    (repo / "models.yaml").write_text(MANIFEST)
    commit_all(repo, "one model")
    git(repo, "checkout", "-q", "-b", "pr")
    for name in HOSTILE:
        (repo / "models/m/1" / name).write_text(name)
    return repo


def test_names_with_control_characters_are_printed_escaped(repo):
    outputs = {}
    for args in (["validate"], ["compile", "--out", "build/compiled", "--dry-run"],
                 ["compile", "--out", "build/compiled"], ["plan"], ["sync"], ["sync"], ["lock"],
                 ["targets"], ["plan", "--output", "json"], ["report", "--base", "main"],
                 ["report", "--base", "main", "--output", "json"]):
        result = cli(repo, *args, "models.yaml") if args[0] != "report" else cli(repo, *args)
        what = " ".join(args)
        assert result.returncode in (0, 2), f"{what}: {result.stdout!r} {result.stderr!r}"
        outputs[what] = outputs.get(what, "") + assert_clean(result, what)  # both syncs' output
    assert (repo / "build/repo/m/1" / HOSTILE[0]).read_bytes() == HOSTILE[0].encode()  # synced, name intact
    assert "+ create m/1/x\\r::error::forged" in outputs["plan"]
    # sync prints its plan, each file once (no progress line per file outside a terminal)
    assert "+ create m/1/\\x1b[2Jclear" in outputs["sync"] and "in sync, nothing to do" in outputs["sync"]
    assert "m/1/\\u202egnp.py" in outputs["compile --out build/compiled --dry-run"]
    assert "`models/m/1/x\\r::error::forged`" in outputs["report --base main"]
    # The job summary and the step output (the PR comment's body) get the same text.
    summary, github_output = repo / "summary.md", repo / "output"
    result = subprocess.run([sys.executable, "-m", "compiler", "report", "--base", "main", "--summary",
                             "--github-output", "report"], cwd=repo, capture_output=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(repo),
                                 "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(github_output)})
    assert result.returncode == 0, result.stderr
    for path in (summary, github_output):
        assert_clean(subprocess.CompletedProcess([], 0, path.read_bytes(), b""), path.name)


def test_an_error_naming_such_a_file_is_printed_escaped(repo):
    """The error path (one handler for every fatal error) escapes what it quotes."""
    (repo / "models.yaml").write_text(MANIFEST.replace("models/m/1}", '"models/m/1/\\e[2J\\rmissing.py"}'))
    result = cli(repo, "validate", "models.yaml")
    assert result.returncode == 1
    assert "\\x1b[2J\\rmissing.py" in assert_clean(result, "validate")
    result = cli(repo, "sync", "models.yaml", "--target", "build/\x1b[2J\r::error::t")
    assert_clean(result, "sync --target")


@pytest.mark.parametrize("value", ["##[warning]x", "a\\##[b", "###[", '"##["', "::error::x", "\r\n"])
def test_json_output_reads_back_the_same_and_holds_no_command(value):
    import json

    from compiler.console import json_text
    from compiler.errors import printable

    text = json_text({"v": value, value: [value]}, indent=2)
    assert json.loads(text) == {"v": value, value: [value]}
    assert "##[" not in text and "\r" not in text
    assert "##[" not in printable(value) and not printable(value).lstrip().startswith("::")


def test_rollout_lines_quote_tritons_answers_escaped():
    """rollout prints what Triton answers (a load error can quote a file name): escaped too."""
    from compiler.commands.rollout import _outcome_text
    from compiler.rollout.explicit_load import Outcome

    outcome = Outcome("m", "failed", expected={1}, why=["files changed: 1/x\r::error::forged"],
                      failures={1: "load failed: \x1b[2J\u202e##[warning]bad\n::error::second line"})
    text = _outcome_text(outcome, colour=False)
    assert_clean(subprocess.CompletedProcess([], 0, text.encode(), b""), "rollout")
    assert "version 1: load failed: \\x1b[2J\\u202e#\\x23[warning]bad" in text
    assert "\\x3a:error::second line" in text  # Triton's own next line, kept as a line

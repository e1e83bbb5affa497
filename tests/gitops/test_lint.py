"""actionlint, zizmor, check-jsonschema and shellcheck (on the run: steps) on this repository's
GitHub files, on `init` output, and on known-bad input (so a linter that silently checks
nothing cannot pass).

Each tool is run through scripts/lint_workflows.sh --only TOOL; a test is skipped only when
that tool is not installed here (exit code 3), never when it finds something.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitops.test_scaffold import TOLD
from tests.helpers import REPO, run_cli

SCRIPT = REPO / "scripts" / "lint_workflows.sh"
TOOLS = ("actionlint", "zizmor", "jsonschema", "shellcheck")


def lint(tool: str, root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT), "--only", tool, str(root)], capture_output=True, text=True,
                            env=env, timeout=120)
    if result.returncode == 3:
        pytest.skip(f"{tool} is not installed here: {result.stderr.strip()}")
    return result


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("init") / "models-repo"
    code, out, err = run_cli("init", dest, *TOLD)
    assert code == 0, err
    return dest


@pytest.mark.parametrize("tool", TOOLS)
def test_this_repository_is_clean(tool):
    result = lint(tool, REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("tool", TOOLS)
def test_init_output_is_clean(tool, scaffold):
    result = lint(tool, scaffold)
    assert result.returncode == 0, result.stdout + result.stderr


BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ steps.nope.outputs.x }}
      - run: rm -rf $BUILD/*
"""


@pytest.fixture
def bad_repo(tmp_path) -> Path:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BAD_WORKFLOW)
    (tmp_path / "docker-compose.yml").write_text("services:\n  triton:\n    image: x\n    ports: 8000\n"
                                                 "    healtcheck: {test: [CMD, true]}\n")
    return tmp_path


def test_actionlint_catches_an_injection_and_an_unknown_step(bad_repo):
    result = lint("actionlint", bad_repo)
    assert result.returncode == 1
    assert "potentially untrusted" in result.stdout
    assert 'property "nope" is not defined' in result.stdout


def test_zizmor_catches_unpinned_actions_and_a_dangerous_trigger(bad_repo):
    result = lint("zizmor", bad_repo)
    assert result.returncode == 1
    text = result.stdout + result.stderr
    for audit in ("dangerous-triggers", "unpinned-uses", "template-injection"):
        assert audit in text


def test_shellcheck_reads_every_run_step(bad_repo):
    result = lint("shellcheck", bad_repo)
    assert result.returncode == 1
    assert "bad.yml: jobs.a.steps[3]" in result.stdout and "SC2115" in result.stdout


def test_compose_schema_rejects_a_broken_file(bad_repo):
    result = lint("jsonschema", bad_repo)
    assert result.returncode == 1
    assert "docker-compose.yml" in result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("pre-commit") is None and not (Path(sys.executable).parent / "pre-commit").exists(),
                    reason="pre-commit is not installed here")
def test_pre_commit_accepts_the_hooks_manifest():
    exe = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    result = subprocess.run([exe, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

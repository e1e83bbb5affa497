"""The scaffold works the day it is generated: its workflows install a triton-gitops that a
runner can resolve, by default this very one, pinned to its commit.

The end-to-end test runs the scaffolded PR workflow's install and validate steps as the
runner would: `init` runs from a clone of triton-gitops whose remote is a GitHub URL, the
install step pip-installs what init wrote into a fresh venv, and the validate step runs the
CLI it installed. The runner has no network here: git's `insteadOf` points the GitHub URL at
a local repository with the same commit, and the build backend comes from the test venv.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from compiler.scaffold.install import from_checkout, from_direct_url, reachable_url
from tests.gitops import runner
from tests.gitops.gitutil import git
from tests.gitops.test_scaffold import load
from tests.helpers import REPO

GITHUB = "https://github.com/acme/triton-gitops.git"


@pytest.mark.parametrize("url, expected", [
    ("git@github.com:acme/triton-gitops.git", "https://github.com/acme/triton-gitops.git"),
    ("ssh://git@gitlab.example.com:2222/ml/tg.git", "https://gitlab.example.com/ml/tg.git"),
    ("https://github.com/acme/tg", "https://github.com/acme/tg"),
    ("file:///srv/git/tg.git", ""), ("/srv/git/tg.git", ""), ("../tg", "")])
def test_reachable_url(url, expected):
    assert reachable_url(url) == expected


def test_pips_record_of_a_git_or_url_install_is_pinned():
    spec, _ = from_direct_url({"url": "git@github.com:acme/tg.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}})
    assert spec == "'triton-gitops @ git+https://github.com/acme/tg.git@abc123'"
    spec, _ = from_direct_url({"url": "https://example.com/tg-0.1.0-py3-none-any.whl",
                               "archive_info": {"hashes": {"sha256": "f00"}}})
    assert spec == "'triton-gitops @ https://example.com/tg-0.1.0-py3-none-any.whl#sha256=f00'"
    spec, why = from_direct_url({"url": "file:///home/me/dist/tg-0.1.0-py3-none-any.whl", "archive_info": {}})
    assert spec == "" and "a runner cannot reach" in why


def _source_repo(folder: Path) -> str:
    """A git repository holding this triton-gitops' sources (what pip builds a wheel from); its commit."""
    folder.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, folder / name)
    for name in ("compiler", "templates", "schemas"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "triton-gitops")
    return git(folder, "rev-parse", "HEAD")


def _clone(upstream: Path, folder: Path) -> None:
    """A clone as a user has it: origin is GitHub, and origin/main holds HEAD."""
    subprocess.run(["git", "clone", "-q", str(upstream), str(folder)], check=True)
    git(folder, "remote", "set-url", "origin", GITHUB)


def test_a_clean_pushed_checkout_is_pinned_and_anything_else_is_refused(tmp_path):
    commit = _source_repo(tmp_path / "upstream")
    _clone(tmp_path / "upstream", tmp_path / "clone")
    clone = tmp_path / "clone"
    assert from_checkout(clone) == (f"'triton-gitops @ git+{GITHUB}@{commit}'", "")
    (clone / "compiler" / "__init__.py").write_text("# edited\n")
    assert "uncommitted changes" in from_checkout(clone)[1]
    git(clone, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "local only")
    assert "on no branch of a remote a runner can reach" in from_checkout(clone)[1]
    assert "not a git checkout" in from_checkout(tmp_path)[1]


def test_init_refuses_to_guess_and_names_install(tmp_path):
    _source_repo(tmp_path / "upstream")  # committed, but no remote has it
    proc = subprocess.run([sys.executable, "-m", "compiler", "init", str(tmp_path / "scaffold")],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path / "upstream")},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "on no branch of a remote a runner can reach" in proc.stderr and "--install" in proc.stderr
    assert not (tmp_path / "scaffold").exists()


def _runner_python(folder: Path) -> Path:
    """A fresh venv, as setup-python gives a job, that sees the test venv's packages (no network
    here for the dependencies and the build backend) but not its triton-gitops."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    purelib = subprocess.run([str(folder / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "test_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return folder / "bin"


def test_the_scaffolded_workflow_installs_this_triton_gitops_and_validates(tmp_path):
    upstream = tmp_path / "upstream"
    commit = _source_repo(upstream)
    _clone(upstream, tmp_path / "clone")
    scaffold = tmp_path / "team-models"
    # `init` as the user runs it from their clone (PYTHONPATH: the clone's code is what runs).
    made = subprocess.run([sys.executable, "-m", "compiler", "init", str(scaffold)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "clone")},
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    workflow = load(scaffold / ".github/workflows/triton-gitops-plan.yml")
    install = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("name") == "Install triton-gitops")
    assert install["run"] == ("python -m pip install --disable-pip-version-check "
                              f"'triton-gitops @ git+{GITHUB}@{commit}'")

    bin_dir = _runner_python(tmp_path / "runner-python")
    env = runner.runner_env(bin_dir)
    env.pop("PYTHONPATH", None)
    env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{upstream.as_uri()}.insteadOf",
                "GIT_CONFIG_VALUE_0": GITHUB, "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
                "XDG_CACHE_HOME": str(tmp_path / "cache")})
    wanted = ["Install triton-gitops", "Validate"]
    others = {s.get("name") for s in workflow["jobs"]["plan"]["steps"] if "run" in s} - set(wanted)
    github = runner.github_context({"number": 1}, "pull_request", "acme/team-models")
    job = runner.run_job(workflow, "plan", scaffold, tmp_path / "runner", github, env=env, skip_names=others,
                         timeout=600)
    assert job.status == "success", job.log
    assert job.ran == wanted
    assert "models.yaml: OK (1 model" in job.log
    # The CLI that validated is the one the step installed, from the pinned commit.
    shown = subprocess.run([str(bin_dir / "python"), "-c", "import compiler; print(compiler.__file__)"],
                           capture_output=True, text=True, env=env, check=True, cwd=scaffold).stdout
    assert shown.startswith(str(tmp_path / "runner-python")), shown
    assert "Successfully installed triton-gitops-" in job.log

"""The scheduled drift workflow `init` writes: its triggers, trust (main only, minimal
permissions, pinned actions, the maintainers' storage policy), and its steps run as the runner
would against an S3 target (moto) and the loopback GitHub API: one issue, opened, updated, closed."""
from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from compiler.scaffold import Options, render_all
from compiler.scaffold.pins import ACTIONS, pin
from tests.gitops import runner
from tests.gitops.test_workflow_run import tool_bin
from tests.helpers import run_cli
from tests.rollout.live import write_manifest, write_sources
from tests.support.github_api import BOT, GitHubApi

NAME = ".github/workflows/triton-gitops-drift.yml"


def rendered() -> dict:
    data = yaml.safe_load(render_all(Options(install="triton-gitops==1.0"))[NAME].decode())
    data["on"] = data.pop(True)
    return data


def test_it_runs_on_a_schedule_on_main_only_with_minimal_permissions():
    data = rendered()
    assert set(data["on"]) == {"schedule", "workflow_dispatch"}
    assert re.fullmatch(r"\d+ \d+ \* \* \*", data["on"]["schedule"][0]["cron"])
    assert data["permissions"] == {}
    job = data["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "issues": "write", "id-token": "write"}
    for ref, wanted in (("refs/heads/main", True), ("refs/heads/feature", False), ("refs/tags/v1", False)):
        assert runner.evaluate(job["if"], {"github": {"ref": ref}}) is wanted
    assert data["env"]["TRITON_GITOPS_ALLOWED_ENDPOINTS"] == "${{ vars.TRITON_GITOPS_ALLOWED_ENDPOINTS }}"
    assert data["env"]["TRITON_GITOPS_ALLOWED_ENV"] == "${{ vars.TRITON_GITOPS_ALLOWED_ENV }}"
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    text = render_all(Options())[NAME].decode()
    for line in re.findall(r"uses: (.+)", text):
        assert line in {pin(name) for name in ACTIONS}, line
    assert len(uses) == 5
    runs = "\n".join(s.get("run", "") for s in job["steps"])
    assert "${{" not in runs  # every expression reaches the scripts through env:
    assert re.search(r"triton-gitops drift .*--remote --locked", runs)
    assert not re.search(r"triton-gitops (sync|rollout)\b", runs)  # nothing here writes storage or loads models


@pytest.mark.emulators
def test_the_steps_open_update_and_close_one_issue(tmp_path, s3_emulator, monkeypatch):
    bucket = s3_emulator.make_bucket()
    root = tmp_path / "repo"
    write_sources(root)
    write_manifest(root, echo=False, extra_targets='  prod: {url: "s3://${TG_BUCKET}/models"}\n')
    (root / ".gitignore").write_text("target/\n")
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    env.update(s3_emulator.env(), TG_BUCKET=bucket, XDG_CACHE_HOME=str(tmp_path / "cache"))

    for name in (*s3_emulator.env(), "TG_BUCKET", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, env[name])

    def cli(*args):  # in this process: the workflow's own steps below run as the runner runs them
        code, out, err = run_cli(*args, cwd=root)
        assert code == 0, out + err

    cli("lock", "models.yaml")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "models"],
                   cwd=root, check=True)
    cli("sync", "models.yaml", "--target", "prod", "--locked")
    s3_emulator.fs().rm(f"{bucket}/models/add/1/model.py")

    workflow = yaml.safe_load(render_all(Options(install="triton-gitops==1.0"))[NAME].decode())
    with GitHubApi("acme/models") as api:
        env["GITHUB_API_URL"] = api.url  # the runner sets it; GITHUB_REPOSITORY comes from the context
        github = runner.github_context({"schedule": "23 5 * * *"}, "schedule", "acme/models", token=api.BOT_TOKEN)
        github["ref"] = "refs/heads/main"
        # (updated in place on the next run: tests/drift/test_drift_storage.py)
        job = runner.run_job(workflow, "drift", root, tmp_path / "runner", github, env=env,
                             skip_names={"Install triton-gitops"})
        assert job.status == "success", job.log  # exit 2 (drift) keeps the run green: the issue tells
        assert job.ran == ["List targets", "Check for drift, keep the issue"], job.log
        assert "issue #1 created" in job.log
        assert "AWS credentials (read-only plan role)" in job.skipped  # no plan role configured here
        [issue] = api.state["issues"]
        assert issue["user"] == BOT and "`add/1/model.py` to repair: deleted on the target" in issue["body"]
        assert "| `prod` | ✏️ 1 file differs | none listed |" in issue["body"]
        assert "## Drift from `main`" in (tmp_path / "runner" / "step_summary.md").read_text()

        cli("sync", "models.yaml", "--target", "prod", "--locked")
        job = runner.run_job(workflow, "drift", root, tmp_path / "runner", github, env=env,
                             skip_names={"Install triton-gitops"})
        assert job.status == "success" and "issue #1 closed" in job.log, job.log
        assert api.state["issues"][0]["state"] == "closed" and len(api.state["issues"]) == 1
        assert [w[0] for w in api.writes()] == ["POST", "POST", "PATCH"]  # created; commented, closed

        # an error (a storage that cannot be read) turns the run red, after the issue says so
        env["TG_BUCKET"] = "no-such-bucket-42"
        job = runner.run_job(workflow, "drift", root, tmp_path / "runner", github, env=env,
                             skip_names={"Install triton-gitops"})
        assert job.status == "failure" and "issue #2 created" in job.log, job.log
        assert "| `prod` | ⚠️ not checked |" in api.state["issues"][1]["body"]

"""The PR workflow's steps run as the GitHub runner would, against the S3 emulator as a target.

main holds the example manifest with an S3 target `prod`, already synced there (as the sync
workflow leaves it); a PR edits the manifest. The checkout is what actions/checkout makes of a
pull request with fetch-depth 2: the PR's merge commit in a shallow clone. The plan job's run
steps execute with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_EVENT_PATH in a temp folder;
the summary is golden-tested. Then the comment job runs twice (two pushes) with a stand-in
`gh`, and leaves one comment, updated in place.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitops import runner
from tests.gitops.gitutil import git
from tests.gitops.prfixture import make_pr_repo
from tests.gitops.test_report import check_golden
from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "triton-gitops-plan.yml"
PROD = '  prod: {url: "s3://${TG_BUCKET}/models"}   # credentials from the environment (OIDC in CI)\n'

pytestmark = pytest.mark.emulators


def tool_bin(folder: Path) -> Path:
    """`triton-gitops` (this checkout, run by this Python) and the stand-in `gh`, for PATH."""
    folder.mkdir()
    (folder / "triton-gitops").write_text(
        f'#!/bin/sh\nPYTHONPATH="{REPO}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" -m compiler "$@"\n')
    (folder / "gh").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).parent / "fake_gh.py"}" "$@"\n')
    for tool in folder.iterdir():
        tool.chmod(0o755)
    return folder


@pytest.fixture
def pr_checkout(tmp_path, s3_emulator):
    """(shallow clone of the PR's merge commit, process env, event) with main synced to the bucket."""
    bucket = s3_emulator.make_bucket()
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    env.update(s3_emulator.env(), TG_BUCKET=bucket, XDG_CACHE_HOME=str(tmp_path / "cache"),
               FAKE_GH_STATE=str(tmp_path / "gh-state.json"))
    upstream = make_pr_repo(tmp_path / "upstream", extra_targets=PROD)
    git(upstream, "checkout", "-q", "main")
    sync = subprocess.run(["triton-gitops", "sync", "models.yaml", "--target", "prod"], cwd=upstream, env=env,
                          capture_output=True, text=True, timeout=120)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    git(upstream, "checkout", "-q", "-b", "pull/7/merge")
    git(upstream, "merge", "-q", "--no-ff", "-m", "Merge pr into main", "pr")
    clone = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--depth", "2", "--branch", "pull/7/merge", upstream.as_uri(), str(clone)],
                   check=True)
    event = {"number": 7, "pull_request": {
        "number": 7, "head": {"sha": git(upstream, "rev-parse", "pr"), "repo": {"full_name": "acme/models"}},
        "base": {"sha": git(upstream, "rev-parse", "main"), "ref": "main", "repo": {"full_name": "acme/models"}}}}
    return clone, env, event


def test_pr_workflow_steps_write_the_report_and_one_comment(pr_checkout, tmp_path):
    clone, env, event = pr_checkout
    workflow = runner.load_workflow(WORKFLOW)
    github = runner.github_context(event, "pull_request", "acme/models")
    files = tmp_path / "runner"
    plan = runner.run_job(workflow, "plan", clone, files, github, env=env, skip_names={"Install triton-gitops"})
    assert plan.status == "success", plan.log
    assert plan.ran == ["Validate", "Compile (dry run)", "List targets", "Plan every target", "Report"], plan.log
    assert "AWS credentials (read-only plan role)" in plan.skipped  # no plan role configured: env creds
    assert plan.steps["targets"]["outputs"] == {
        "matrix": json.dumps({"include": [{"target": "prod", "kind": "s3"}]}), "names": "prod", "kinds": "s3",
        "count": "1"}
    assert (clone / "build/plans/prod.code").read_text().strip() == "2"
    summary = (files / "step_summary.md").read_text()
    check_golden("workflow_summary.md", summary)
    assert plan.outputs["report"] == summary

    needs = {"plan": {"outputs": plan.outputs, "result": "success"}}
    context = {"github": github, "needs": needs, "vars": {}}
    assert runner.evaluate(workflow["jobs"]["comment"]["if"], context) is True
    for push in (1, 2):
        comment = runner.run_job(workflow, "comment", clone, files, github, env=env, needs=needs)
        assert comment.status == "success", comment.log
        assert ("created the plan comment" if push == 1 else "updated comment 100") in comment.log
    state = json.loads((tmp_path / "gh-state.json").read_text())
    assert [(c["id"], c["issue"]) for c in state["comments"]] == [(100, 7)]
    assert state["comments"][0]["body"] == summary.rstrip("\n") or state["comments"][0]["body"] == summary
    assert [c["method"] for c in state["calls"]] == ["GET", "POST", "GET", "PATCH"]


def test_a_fork_gets_no_comment_and_no_credentials(pr_checkout):
    _, _, event = pr_checkout
    event["pull_request"]["head"]["repo"]["full_name"] = "someone/fork"
    workflow = runner.load_workflow(WORKFLOW)
    github = runner.github_context(event, "pull_request", "acme/models")
    needs = {"plan": {"outputs": {"report": "<!-- triton-gitops:plan -->"}, "result": "success"}}
    assert runner.evaluate(workflow["jobs"]["comment"]["if"], {"github": github, "needs": needs}) is False
    vars_ = {"AWS_PLAN_ROLE_ARN": "arn:aws:iam::1:role/plan"}
    steps = {"targets": {"outputs": {"kinds": "s3"}}}
    creds = next(s for s in workflow["jobs"]["plan"]["steps"] if s.get("name", "").startswith("AWS"))
    context = {"github": github, "vars": vars_, "steps": steps}
    assert runner.evaluate(creds["if"], context) is False
    event["pull_request"]["head"]["repo"]["full_name"] = "acme/models"
    assert runner.evaluate(creds["if"], context) is True


def test_expressions_follow_githubs_rules():
    ctx = {"vars": {"A": "x"}, "github": {"event": {"n": 3}}}
    assert runner.evaluate("vars.A != ''", ctx) is True
    assert runner.evaluate("vars.MISSING != ''", ctx) is False  # null == '' in GitHub's coercion
    assert runner.evaluate("vars.MISSING || 'us-east-1'", ctx) == "us-east-1"
    assert runner.evaluate("contains('s3 gcs', 'GCS') && github.event.n == 3", ctx) is True
    assert runner.evaluate("${{ !cancelled() }}", ctx) is True
    assert runner.substitute("g-${{ github.event.n }}", ctx) == "g-3"


SYNC_WORKFLOW = REPO / ".github" / "workflows" / "triton-gitops-sync.yml"


def test_sync_workflow_steps_sync_each_target_of_a_push_to_main(tmp_path, s3_emulator):
    parser_knows_locked = True
    try:
        from compiler.cli import build_parser
        build_parser().parse_args(["sync", "--locked"])
    except SystemExit:
        parser_knows_locked = False
    if not parser_knows_locked:
        pytest.skip("`sync --locked` (models.lock) is not implemented yet")
    bucket = s3_emulator.make_bucket()
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    env.update(s3_emulator.env(), TG_BUCKET=bucket, XDG_CACHE_HOME=str(tmp_path / "cache"))
    upstream = make_pr_repo(tmp_path / "upstream", extra_targets=PROD)
    git(upstream, "checkout", "-q", "main")
    lock = subprocess.run(["triton-gitops", "lock", "models.yaml"], cwd=upstream, env=env, capture_output=True,
                          text=True)
    assert lock.returncode == 0, lock.stdout + lock.stderr
    git(upstream, "add", "models.lock")
    git(upstream, "commit", "-q", "-m", "lock")
    clone = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "main", upstream.as_uri(), str(clone)],
                   check=True)
    head = git(clone, "rev-parse", "HEAD")
    workflow = runner.load_workflow(SYNC_WORKFLOW)
    github = runner.github_context({"ref": "refs/heads/main", "after": head}, "push", "acme/models")
    files = tmp_path / "runner"
    targets = runner.run_job(workflow, "targets", clone, files, github, env=env, skip_names={"Install triton-gitops"})
    assert targets.status == "success", targets.log
    assert targets.outputs == {"matrix": json.dumps({"include": [{"target": "prod", "kind": "s3"}]}), "count": "1"}

    job = workflow["jobs"]["sync"]
    needs = {"targets": {"outputs": targets.outputs, "result": "success"}}
    assert runner.evaluate(job["if"], {"needs": needs}) is True
    matrix = runner.evaluate(job["strategy"]["matrix"], {"needs": needs})
    assert matrix == {"include": [{"target": "prod", "kind": "s3"}]}
    for entry in matrix["include"]:
        context = {"matrix": entry, "github": github}
        assert runner.substitute(job["environment"]["name"], context) == "prod"
        assert runner.substitute(job["concurrency"]["group"], context) == "triton-gitops-sync-prod"
        sync = runner.run_job(workflow, "sync", clone, files, github, env=env, needs=needs, matrix=entry,
                              skip_names={"Install triton-gitops"})
        assert sync.status == "success", sync.log
        assert sync.ran == ["Sync"]  # credentials come from OIDC actions (here: the environment); no TRITON_URL
        assert {"AWS credentials", "Roll out to Triton"} <= set(sync.skipped)
    fs = s3_emulator.fs()
    assert fs.exists(f"{bucket}/models/echo/config.pbtxt") is False  # main does not have the PR's model
    assert fs.exists(f"{bucket}/models/classify_text/config.pbtxt")
    state = json.loads(fs.cat(f"{bucket}/models/.triton-gitops-state.json"))
    assert state["revision"] == head

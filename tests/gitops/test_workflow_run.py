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

from compiler.prreport.render import MARKER
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
    upstream = make_pr_repo(tmp_path / "upstream", extra_targets=PROD, lock=True)
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
    plans = files / "triton-gitops-plans"  # under runner.temp, emptied by the step: not in the checkout
    assert (plans / "prod.code").read_text().strip() == "2"
    assert not (clone / "build/plans").exists()
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


MINE = {"login": "github-actions[bot]", "type": "Bot"}


def test_the_comment_step_edits_only_the_bots_own_comment(tmp_path):
    """Anyone can post a comment that starts with the marker; the step must not take it over."""
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    state_path = tmp_path / "gh-state.json"
    env["FAKE_GH_STATE"] = str(state_path)
    planted = [
        {"id": 50, "issue": 7, "body": MARKER + "\nall clear, merge me", "user": {"login": "mallory", "type": "User"}},
        {"id": 51, "issue": 7, "body": MARKER + "\nanother bot", "user": {"login": "renovate[bot]", "type": "Bot"}},
        {"id": 52, "issue": 7, "body": MARKER + "\nspoofed type", "user": {"login": "github-actions[bot]",
                                                                           "type": "User"}},
        {"id": 53, "issue": 7, "body": "my own note", "user": MINE},
    ]
    state_path.write_text(json.dumps({"comments": planted, "next_id": 100, "calls": []}))
    workflow = runner.load_workflow(WORKFLOW)
    event = {"number": 7, "pull_request": {"number": 7, "head": {"repo": {"full_name": "acme/models"}}}}
    github = runner.github_context(event, "pull_request", "acme/models")
    for push in (1, 2):
        needs = {"plan": {"outputs": {"report": f"{MARKER}\nreport {push}"}, "result": "success"}}
        comment = runner.run_job(workflow, "comment", tmp_path, tmp_path / "runner", github, env=env, needs=needs)
        assert comment.status == "success", comment.log
        assert ("created the plan comment" if push == 1 else "updated comment 100") in comment.log
    state = json.loads(state_path.read_text())
    assert state["comments"][:4] == planted  # none of them edited
    assert state["comments"][4] == {"id": 100, "issue": 7, "body": f"{MARKER}\nreport 2", "user": MINE}
    assert [c["method"] for c in state["calls"]] == ["GET", "POST", "GET", "PATCH"]


def test_a_pr_that_forgets_to_lock_fails_its_check(tmp_path):
    """The deploy runs `sync --locked`; a PR whose model bytes changed without `lock` must be red."""
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    upstream = make_pr_repo(tmp_path / "upstream", lock=True)
    with open(upstream / "examples/echo/1/model.py", "a") as handle:
        handle.write("# changed after `triton-gitops lock`\n")
    git(upstream, "commit", "-q", "-am", "pr: echo changed, lock forgotten")
    clone = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", "--depth", "2", "--branch", "pr", upstream.as_uri(), str(clone)], check=True)
    workflow = runner.load_workflow(WORKFLOW)
    event = {"number": 7, "pull_request": {"number": 7, "head": {"repo": {"full_name": "acme/models"}}}}
    github = runner.github_context(event, "pull_request", "acme/models")
    plan = runner.run_job(workflow, "plan", clone, tmp_path / "runner", github, env=env,
                          skip_names={"Install triton-gitops"})
    assert plan.status == "failure"
    assert plan.steps["Validate"]["outcome"] == "failure", plan.log
    assert "models.lock" in plan.log and "echo" in plan.log
    assert plan.steps["report"]["outcome"] == "success" and plan.outputs["report"].startswith(MARKER)


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
    github = runner.github_context({"ref": "refs/heads/main", "after": head, "repository": {"default_branch": "main"}},
                                   "push", "acme/models")
    assert runner.evaluate(workflow["jobs"]["targets"]["if"], {"github": github}) is True
    files = tmp_path / "runner"
    targets = runner.run_job(workflow, "targets", clone, files, github, env=env, skip_names={"Install triton-gitops"})
    assert targets.status == "success", targets.log
    assert targets.outputs == {"matrix": json.dumps({"include": [{"target": "prod", "kind": "s3"}]}), "count": "1"}

    job = workflow["jobs"]["sync"]
    needs = {"targets": {"outputs": targets.outputs, "result": "success"}}
    assert runner.evaluate(job["if"], {"needs": needs, "github": github}) is True
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


@pytest.mark.parametrize("workflow_path", ["repo", "init"])
def test_sync_runs_only_for_the_default_branch(workflow_path, tmp_path):
    """`Run workflow` on a branch or a tag (workflow_dispatch) must not reach a target's credentials."""
    if workflow_path == "repo":
        workflow = runner.load_workflow(SYNC_WORKFLOW)
    else:
        from compiler.scaffold import Options, render_all

        path = tmp_path / "sync.yml"
        path.write_bytes(render_all(Options())[".github/workflows/triton-gitops-sync.yml"])
        workflow = runner.load_workflow(path)
    assert "workflow_dispatch" in workflow["on"]
    needs = {"targets": {"outputs": {"count": "1"}, "result": "success"}}

    def runs(ref: str, event_name: str, default: str = "main") -> bool:
        github = runner.github_context({"ref": ref, "repository": {"default_branch": default}}, event_name,
                                       "acme/models")
        github["ref"] = ref
        return all(runner.evaluate(job["if"], {"github": github, "needs": needs}) is True
                   for job in workflow["jobs"].values())

    assert runs("refs/heads/main", "workflow_dispatch") and runs("refs/heads/main", "push")
    assert not runs("refs/heads/feature", "workflow_dispatch")
    assert not runs("refs/tags/main", "workflow_dispatch")  # a tag named like the branch
    assert not runs("refs/heads/main-evil", "workflow_dispatch")
    assert not runs("refs/pull/7/merge", "workflow_dispatch")
    assert runs("refs/heads/trunk", "workflow_dispatch", default="trunk")
    assert not runs("refs/heads/main", "workflow_dispatch", default="trunk")


@pytest.mark.parametrize("name", ["triton-gitops-plan.yml", "triton-gitops-sync.yml"])
def test_the_storage_policy_comes_from_repository_variables_not_the_pull_request(name, tmp_path):
    """The policy that decides where credentials may go is set by maintainers (repository
    variables), for every step of both workflows: the PR's own files cannot widen it."""
    workflow = runner.load_workflow(REPO / ".github" / "workflows" / name)
    for key in ("TRITON_GITOPS_ALLOWED_ENDPOINTS", "TRITON_GITOPS_ALLOWED_ENV"):
        assert workflow["env"][key] == f"${{{{ vars.{key} }}}}"
        # and the runner hands the variable's value, not anything from the work tree, to a step
        job = {"jobs": {"j": {"steps": [{"name": "show", "run": f'printf %s "${key}"'}]}}, "env": workflow["env"]}
        result = runner.run_job(job, "j", tmp_path, tmp_path / "runner", {"event": {}}, env={"PATH": "/usr/bin:/bin"},
                                vars_={key: "from-vars"})
        assert result.log.endswith("from-vars"), result.log

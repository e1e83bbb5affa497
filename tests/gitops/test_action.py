"""The composite action (action.yml) run as the runner runs it: its inputs, steps and outputs."""
from __future__ import annotations

import pytest

from tests.gitops import runner
from tests.gitops.prfixture import make_pr_repo
from tests.gitops.test_workflow_run import PROD, tool_bin
from tests.helpers import REPO

ACTION = REPO / "action.yml"


@pytest.fixture
def checkout(tmp_path, s3_emulator):
    env = runner.runner_env(tool_bin(tmp_path / "bin"))
    env.update(s3_emulator.env(), TG_BUCKET=s3_emulator.make_bucket(), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return make_pr_repo(tmp_path / "repo", extra_targets=PROD, lock=True), env


def run_action(checkout, tmp_path, **inputs):
    repo, env = checkout
    workflow, defaults = runner.load_action(ACTION)
    github = {**runner.github_context({}, "push", "acme/models"), "action_path": str(REPO)}
    return runner.run_job(workflow, "action", repo, tmp_path / "runner", github, env=env,
                          inputs={**defaults, **inputs}, skip_names={"Install triton-gitops"})


@pytest.mark.emulators
def test_plan_with_changes_succeeds_and_says_so(checkout, tmp_path):
    result = run_action(checkout, tmp_path, command="plan", target="prod")
    assert result.status == "success", result.log
    assert result.outputs == {"exit-code": "2", "changes": "true"}
    assert "to create" in result.log


@pytest.mark.emulators
def test_validate_is_the_default_and_fails_on_errors(checkout, tmp_path):
    assert run_action(checkout, tmp_path).outputs == {"exit-code": "0", "changes": "false"}
    repo, _ = checkout
    (repo / "models.yaml").write_text((repo / "models.yaml").read_text().replace("max_batch_size: 16",
                                                                                 "max_batch_size: -1"))
    result = run_action(checkout, tmp_path)
    assert result.status == "failure" and result.outputs["exit-code"] == "1"
    assert "must be non-negative" in result.log


@pytest.mark.emulators
def test_an_unknown_command_is_refused(checkout, tmp_path):
    result = run_action(checkout, tmp_path, command="rm -rf /")
    assert result.status == "failure"
    assert "::error::command must be validate, plan or sync, not 'rm -rf /'" in result.log
    result = run_action(checkout, tmp_path, command="x\r\n::add-mask::forged\n::warning::forged")
    assert result.status == "failure"
    assert not [line for line in result.log.replace("\r", "\n").split("\n")
                if line.startswith("::") and not line.startswith("::error::command must be")]


@pytest.mark.emulators
def test_validate_and_plan_are_locked_like_sync(checkout, tmp_path):
    """A source changed without `triton-gitops lock` fails validate and plan, as it fails the deploy."""
    repo, _ = checkout
    with open(repo / "examples/echo/1/model.py", "a") as handle:
        handle.write("# changed after lock\n")
    for command in ("validate", "plan"):
        result = run_action(checkout, tmp_path, command=command, target="prod")
        assert result.status == "failure" and result.outputs["exit-code"] == "1", result.log
        assert "models.lock" in result.log
    assert run_action(checkout, tmp_path, locked="false").outputs["exit-code"] == "0"


@pytest.mark.emulators
def test_a_typo_in_args_fails_the_step_and_is_no_change(checkout, tmp_path):
    # argparse's own exit code for a usage error is 2, the code for "changes pending": a typo
    # would have read as changes and left the step green.
    result = run_action(checkout, tmp_path, command="plan", target="prod", args="--prnue")
    assert result.status == "failure", result.log
    assert result.outputs == {"exit-code": "1", "changes": "false"}
    assert "unrecognized arguments: --prnue" in result.log

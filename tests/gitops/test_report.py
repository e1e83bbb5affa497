"""The PR report: config diff, plan files, GitHub outputs, and the rendered Markdown (golden).

Golden files are in tests/gitops/golden/; after an intended change to the templates, rewrite
them with UPDATE_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from compiler.prreport.configdiff import MISSING, FieldChange, diff_configs, format_value
from compiler.prreport.github import read_outputs
from compiler.prreport.plans import ERROR, IN_SYNC, PENDING, read_plans
from compiler.prreport.render import MARKER
from tests.gitops.gitutil import git
from tests.gitops.prfixture import make_pr_repo
from tests.helpers import run_cli

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)"


def test_diff_matches_named_list_items_and_keeps_new_subtrees_whole():
    base = {"max_batch_size": 8, "input": [{"name": "A", "dims": [1]}, {"name": "B", "dims": [2]}],
            "instance_group": [{"kind": "KIND_CPU", "count": 1}], "backend": "python"}
    head = {"max_batch_size": 8, "input": [{"name": "B", "dims": [2]}, {"name": "A", "dims": [1, 3]}],
            "instance_group": [{"kind": "KIND_GPU", "count": 1}, {"kind": "KIND_CPU", "count": 2}],
            "dynamic_batching": {"max_queue_delay_microseconds": 100}}
    assert diff_configs(base, head) == [
        FieldChange("input[A].dims", [1], [1, 3]),
        FieldChange("instance_group[0].kind", "KIND_CPU", "KIND_GPU"),
        FieldChange("instance_group[1]", MISSING, {"kind": "KIND_CPU", "count": 2}),
        FieldChange("dynamic_batching", MISSING, {"max_queue_delay_microseconds": 100}),
        FieldChange("backend", "python", MISSING),
    ]
    assert diff_configs(head, head) == []
    assert [c.kind for c in diff_configs({"a": 1, "b": 1}, {"a": 2, "c": 1})] == ["changed", "added", "removed"]


def test_renamed_input_is_one_removed_and_one_added():
    changes = diff_configs({"input": [{"name": "X", "dims": [1]}]}, {"input": [{"name": "Y", "dims": [1]}]})
    assert [(c.path, c.kind) for c in changes] == [("input[Y]", "added"), ("input[X]", "removed")]


def test_values_are_compact_flow_yaml():
    assert format_value({"kind": "KIND_CPU", "count": 1}) == "{kind: KIND_CPU, count: 1}"
    assert format_value(["a b", "yes", True, None, 1.5]) == '["a b", "yes", true, null, 1.5]'
    assert format_value("x" * 300).endswith("…") and len(format_value("x" * 300)) == 160


def test_plan_files_give_status_counts_and_errors(tmp_path):
    (tmp_path / "prod.json").write_text(json.dumps({"changes": [
        {"action": "create", "path": "m/1/model.py"}, {"action": "create", "path": "m/config.pbtxt"},
        {"action": "delete", "path": "old/config.pbtxt", "model": "old"}]}))
    (tmp_path / "prod.code").write_text("2\n")
    (tmp_path / "dev.json").write_text("{}")
    (tmp_path / "dev.code").write_text("0")
    (tmp_path / "eu.json").write_text("")
    (tmp_path / "eu.err").write_text("triton-gitops: error: s3://b: no credentials found\n    hint: configure them\n")
    (tmp_path / "eu.code").write_text("1")
    plans = {p.name: p for p in read_plans(tmp_path)}
    assert sorted(plans) == ["dev", "eu", "prod"]
    assert plans["prod"].status == PENDING and dict(plans["prod"].actions) == {"create": 2, "delete": 1}
    assert {m: dict(c) for m, c in plans["prod"].models.items()} == {"m": {"create": 2}, "old": {"delete": 1}}
    assert plans["dev"].status == IN_SYNC
    assert plans["eu"].status == ERROR and "no credentials found" in plans["eu"].error
    assert read_plans(tmp_path / "missing") == []


@pytest.fixture(scope="module")
def pr_repo(tmp_path_factory) -> Path:
    return make_pr_repo(tmp_path_factory.mktemp("pr") / "repo")


def test_report_golden(pr_repo):
    code, out, err = run_cli("report", "models.yaml", "--base", "main", cwd=pr_repo)
    assert code == 0, err
    assert out.startswith(MARKER + "\n")
    check_golden("pr_report.md", out)


def test_report_with_plans_golden(pr_repo, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "prod.json").write_text(json.dumps({"changes": [
        {"action": "create", "path": "echo/config.pbtxt"}, {"action": "update", "path": "preprocess/config.pbtxt"},
        {"action": "delete", "path": "classify_text/config.pbtxt"}]}))
    (plans / "prod.code").write_text("2")
    (plans / "eu.err").write_text("triton-gitops: error: s3://models-eu: access denied\n")
    (plans / "eu.code").write_text("1")
    code, out, err = run_cli("report", "models.yaml", "--base", "main", "--plans", plans, cwd=pr_repo)
    assert code == 1  # a target's plan failed: the check fails, with the report written
    assert "the plan of target eu failed (exit code 1)" in err
    check_golden("pr_report_plans.md", out)


def test_report_json_and_exit_code(pr_repo):
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", "--output", "json", "--exit-code", cwd=pr_repo)
    assert code == 2
    data = json.loads(out)
    assert data["counts"] == {"added": 1, "changed": 2, "removed": 1, "unchanged": 0}
    assert data["head"]["sha"] == git(pr_repo, "rev-parse", "HEAD") and data["warnings"] == 1
    models = {m["name"]: m for m in data["models"]}
    assert models["preprocess"]["config_changes"][0] == {"path": "max_batch_size", "kind": "changed",
                                                         "before": 8, "after": 16}
    assert run_cli("report", "models.yaml", "--base", "HEAD", "--exit-code", cwd=pr_repo)[0] == 0


def test_report_to_github_summary_and_output(pr_repo, tmp_path, monkeypatch):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", "--summary", "--github-output", "report",
                           cwd=pr_repo)
    assert code == 0
    assert summary.read_text() == "earlier step\n" + out
    values = read_outputs(output)
    assert values["report"] == out and values["pending"] == "true"


def test_summary_outside_actions_is_a_clear_error(pr_repo, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, _, err = run_cli("report", "models.yaml", "--base", "main", "--summary", cwd=pr_repo)
    assert code == 1 and "$GITHUB_STEP_SUMMARY is not set" in err


def test_a_report_too_long_for_a_comment_keeps_whole_sections(pr_repo):
    from compiler.artifacts.settings import Settings
    from compiler.commands.report import load_and_compare
    from compiler.prreport import render_markdown

    cwd = os.getcwd()
    os.chdir(pr_repo)
    try:
        report = load_and_compare("models.yaml", "main", Settings())
    finally:
        os.chdir(cwd)
    full = render_markdown(report)
    cut = render_markdown(report, limit=len(full) - 200)
    assert len(cut) <= len(full) - 200
    assert "more changed model" in cut and "see the job summary" in cut
    assert cut.count("### ") < full.count("### ")


def test_invalid_head_still_reports_the_errors(tmp_path):
    repo = make_pr_repo(tmp_path / "repo", lambda text: text.replace("max_batch_size: 16", "max_batch_size: -3"))
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", cwd=repo)
    assert code == 1  # the report is written, and the check fails
    assert "**The manifest does not validate: 3 errors.**" in out
    assert "`models.yaml:15:21` **error**: 'max_batch_size' must be non-negative" in out
    assert "| `max_batch_size` | `8` | `-3` |" in out
    assert "→" not in out  # no content comparison against a side that did not build


def test_report_in_a_shallow_clone_of_the_pr(pr_repo, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "pr", pr_repo.as_uri(), str(clone)], check=True)
    code, out, err = run_cli("report", "models.yaml", "--base", "main", cwd=clone)
    assert code == 0, err
    golden = (GOLDEN / "pr_report.md").read_text()
    assert out == golden


def test_config_variants_and_the_config_each_target_serves(tmp_path):
    def edit(text):
        return text.replace("    versions:\n      1: {source: examples/preprocess/1}\n",
                            "    versions:\n      1: {source: examples/preprocess/1}\n"
                            "    configs:\n      edge: {dynamic_batching: {preferred_batch_size: [4]}}\n", 1)

    repo = make_pr_repo(tmp_path / "repo", edit, extra_targets="  big: {url: build/big, config_name: cpu-large}\n"
                                                             "  small: {url: build/small, config_name: edge}\n")
    code, out, err = run_cli("report", "models.yaml", "--base", "main", cwd=repo)
    assert code == 0, err
    preprocess = out[out.index("`preprocess`: changed"):out.index("`text_classifier`")]
    assert "| `configs/edge.pbtxt` | added | | | |" in preprocess
    assert ("Served config: target `big` (`--model-config-name` `cpu-large`) loads `config.pbtxt`; "
            "target `small` (`--model-config-name` `edge`) loads `configs/edge.pbtxt`.") in preprocess
    classifier = out[out.index("`text_classifier`"):]
    assert "| `configs/cpu-large.pbtxt` | changed | `version_policy.specific.versions` | `[2, 3]` | `[3, 4]` |" in classifier
    assert "target `big` (`--model-config-name` `cpu-large`) loads `configs/cpu-large.pbtxt`" in classifier
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", "--output", "json", cwd=repo)
    models = {m["name"]: m for m in json.loads(out)["models"]}
    assert models["preprocess"]["variants"] == [{"name": "edge", "status": "added", "config_changes": []}]
    assert models["preprocess"]["served"] == [
        {"target": "big", "config_name": "cpu-large", "file": "config.pbtxt"},
        {"target": "small", "config_name": "edge", "file": "configs/edge.pbtxt"}]


def test_added_and_removed_targets_are_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "ENV_NAME")  # the storage policy allows ${ENV_NAME}
    repo = make_pr_repo(tmp_path / "repo", extra_targets='  prod: {url: "s3://bucket/models"}\n')
    text = (repo / "models.yaml").read_text()
    text = text.replace('  prod: {url: "s3://bucket/models"}\n',
                        '  staging: {url: "gs://user:secret@bucket/${ENV_NAME}/models"}\n')
    (repo / "models.yaml").write_text(text)
    git(repo, "commit", "-q", "-am", "pr: prod goes, staging comes")
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", "--output", "json", cwd=repo)
    assert code == 0
    assert json.loads(out)["target_changes"] == [
        {"name": "prod", "status": "removed", "url": "", "old_url": "s3://bucket/models"},
        {"name": "staging", "status": "added", "url": "gs://***@bucket/${ENV_NAME}/models", "old_url": ""}]
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", cwd=repo)
    assert "- ➖ target `prod` removed (was `s3://bucket/models`)" in out
    assert "- ➕ target `staging` added: `gs://***@bucket/${ENV_NAME}/models`" in out  # as written, no secret
    # Only a target moved: still a change to review.
    base = make_pr_repo(tmp_path / "only", extra_targets='  prod: {url: "s3://bucket/models"}\n')
    git(base, "checkout", "-q", "main")
    git(base, "checkout", "-q", "-b", "move")
    manifest = base / "models.yaml"
    manifest.write_text(manifest.read_text().replace("s3://bucket/models", "s3://other-bucket/models"))
    git(base, "commit", "-q", "-am", "prod moves")
    code, out, _ = run_cli("report", "models.yaml", "--base", "main", "--exit-code", cwd=base)
    assert code == 2
    assert "- ✏️ target `prod` now `s3://other-bucket/models` (was `s3://bucket/models`)" in out


def test_a_plans_folder_committed_to_git_is_refused(pr_repo, tmp_path):
    """A PR could commit plan results that say "in sync"; only this run's results count."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "pr", pr_repo.as_uri(), str(clone)], check=True)
    (clone / "plans").mkdir()
    (clone / "plans/prod.code").write_text("0\n")
    (clone / "plans/prod.json").write_text('{"changes": []}')
    git(clone, "add", "-f", "plans")
    git(clone, "commit", "-q", "-m", "plans that say in sync")
    code, out, err = run_cli("report", "models.yaml", "--base", "main", "--plans", "plans", cwd=clone)
    assert code == 1 and out == ""
    assert "plans: holds 2 file(s) committed to git (plans/prod.code, plans/prod.json)" in err
    assert "$RUNNER_TEMP" in err
    fresh = tmp_path / "fresh"  # outside the work tree, as the workflow writes them
    fresh.mkdir()
    (fresh / "prod.code").write_text("2\n")
    code, out, err = run_cli("report", "models.yaml", "--base", "main", "--plans", fresh, cwd=clone)
    assert code == 0, err
    assert "| `prod` | 🟡 changes pending |" in out


def test_without_main_the_hint_names_the_default_branch(tmp_path):
    upstream = make_pr_repo(tmp_path / "upstream")
    git(upstream, "branch", "-m", "main", "trunk")
    git(upstream, "symbolic-ref", "HEAD", "refs/heads/trunk")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "pr", upstream.as_uri(), str(clone)], check=True)
    code, out, err = run_cli("report", "models.yaml", cwd=clone)
    assert code == 1 and out == ""
    assert "git: base ref 'main' not found (the default base)" in err
    assert "hint: the default branch here is 'trunk': pass --base trunk" in err
    code, out, err = run_cli("report", "models.yaml", "--base", "origin/trunk", cwd=clone)
    assert code == 0, err
    alone = tmp_path / "alone"  # no remote to ask: the hint still says what to pass
    subprocess.run(["git", "clone", "-q", "--branch", "pr", upstream.as_uri(), str(alone)], check=True)
    git(alone, "remote", "remove", "origin")
    code, _, err = run_cli("report", "models.yaml", cwd=alone)
    assert code == 1 and "hint: name the branch the PR goes into: --base BRANCH" in err


def test_report_help_states_its_exit_codes():
    from compiler.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["report"].format_help()
    assert "1  an error, or the manifest does not validate, or a target's plan failed" in text
    assert "2  with --exit-code: a model or a target changes" in text


def test_the_notes_of_the_manifest_go_to_stderr_once(tmp_path):
    def unsaid(text):  # the PR drops `triton:`
        assert '\ntriton: "24.10"' in text
        return "\n".join(line for line in text.split("\n") if not line.startswith("triton:"))

    repo = make_pr_repo(tmp_path / "repo", unsaid)
    code, out, err = run_cli("report", "models.yaml", "--base", "main", "--output", "json", cwd=repo)
    assert code == 0 and json.loads(out)["head"], err  # stdout stays the report
    assert err.count("note: ") == 1 and err.startswith("note: models.yaml does not say which Triton serves it"), err

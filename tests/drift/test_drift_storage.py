"""`triton-gitops drift` against a real local target and an S3 target (moto), with the loopback
GitHub API: the issue is created once, updated in place, closed after a sync; storage that
cannot be reached is named in it; and nothing is ever written to a target."""
from __future__ import annotations

import json

import pytest

from compiler.drift.report import MARKER
from tests.drift.conftest import REPOSITORY
from tests.support.github_api import BOT
from tests.support.procs import free_port

pytestmark = pytest.mark.emulators

ISSUES = f"/repos/{REPOSITORY}/issues"


def test_the_issue_is_opened_once_updated_in_place_and_closed_after_a_sync(project, github):
    project.sync()
    code, out, err = project.drift()
    assert code == 0, out + err
    assert "Every target (2) holds what `main` says." in out
    assert github.writes() == [] and github.state["issues"] == []  # in sync, no issue: nothing written

    # drift: a file changed by hand on the local target, an object deleted from the bucket
    (project.root / "target/add/1/model.py").write_text("# changed by hand\n")
    project.s3.fs().rm(f"{project.bucket}/models/add/config.pbtxt")
    before = project.snapshot()
    code, out, err = project.drift()
    assert code == 2, out + err
    assert "issue #1 created" in out
    [issue] = github.state["issues"]
    assert issue["user"] == BOT and issue["state"] == "open"
    assert issue["title"] == "triton-gitops: drift from main (2 of 2 targets drifted)"
    body = issue["body"]
    assert body.startswith(MARKER + "\n")
    assert "| `local` | ✏️ 1 file differs | none listed |\n| `prod` | ✏️ 1 file differs | none listed |" in body
    assert "### `local`\n\n**Storage** `target`\n\n- `add/1/model.py` to repair: changed on the target\n" in body
    assert "**Storage** `s3://${TG_BUCKET}/models`\n\n- `add/config.pbtxt` to repair: deleted on the target\n" in body
    assert "`triton-gitops sync models.yaml --target prod`" in body

    code, out, err = project.drift()
    assert code == 2 and "issue #1 updated" in out, out + err
    assert len(github.state["issues"]) == 1 and github.state["comments"] == []
    assert github.writes() == [("POST", ISSUES), ("PATCH", f"{ISSUES}/1")]
    assert project.snapshot() == before  # two drift runs wrote nothing to either target

    project.sync()
    code, out, err = project.drift()
    assert code == 0, out + err
    assert "issue #1 closed" in out
    assert github.state["issues"][0]["state"] == "closed"
    [comment] = github.state["comments"]
    assert comment["issue"] == 1 and comment["body"].startswith("Every target (2) holds what `main` says again")
    assert github.writes()[2:] == [("POST", f"{ISSUES}/1/comments"), ("PATCH", f"{ISSUES}/1")]
    # the issue keeps the last drift it reported; the next in-sync run finds no open issue: no call writes
    assert "add/1/model.py" in github.state["issues"][0]["body"]
    assert project.drift()[0] == 0 and len(github.writes()) == 4
    for request in github.requests:
        assert request["authorization"] == f"Bearer {github.BOT_TOKEN}"


def test_unreachable_storage_is_named_in_the_issue_not_a_traceback(project, github, monkeypatch):
    project.sync()
    dead = f"http://127.0.0.1:{free_port()}"
    import os

    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", f"{os.environ.get('TRITON_GITOPS_ALLOWED_ENDPOINTS', '')} {dead}")
    text = project.manifest.read_text().replace(
        "models:\n", f'  dr: {{url: "s3://{project.bucket}/dr", storage_options: {{client_kwargs: '
                     f'{{endpoint_url: "{dead}"}}}}}}\nmodels:\n', 1)
    project.manifest.write_text(text)
    code, out, err = project.drift("--output", "json")
    assert code == 1, out + err
    assert "Traceback" not in out + err
    report = json.loads(out)
    assert [(t["target"], t["in_sync"]) for t in report["targets"]] == [("dr", False), ("local", True),
                                                                        ("prod", True)]
    assert f"endpoint unreachable: cannot connect to {dead}" in report["targets"][0]["storage"]["error"]
    assert report["unchecked"] and not report["drifted"] and report["issue"]["action"] == "created"
    body = github.state["issues"][0]["body"]
    assert "| `dr` | ⚠️ not checked | none listed |" in body and "| `prod` | ✅ in sync |" in body
    assert "### `dr`" in body and "Could not be read: " in body and "endpoint unreachable" in body
    assert github.state["issues"][0]["title"] == "triton-gitops: drift from main (1 not checked)"


def test_no_issue_prints_the_report_and_talks_to_no_api(project, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    code, out, err = project.drift("--target", "local", "--no-issue")
    assert code == 2, out + err
    assert out.startswith(MARKER) and "### `local`" in out and "prod" not in out
    code, out, err = project.drift("--target", "local")
    assert code == 1 and "$GITHUB_TOKEN not set" in err and "--no-issue" in err
    code, out, err = project.drift("--target", "nope", "--no-issue")
    assert code == 1 and "--target nope: the manifest has no such target" in err


def test_one_run_reads_the_hash_index_once_and_works_out_the_wanted_files_once(project, monkeypatch):
    """Every target is planned against the tree the command built: one hash index (opened by
    the command, filled by the artifacts stage, read by each target's plan) and one set of
    wanted files, however many targets there are."""
    from compiler.artifacts.cache import Cache
    from compiler.sync import engine

    project.sync()
    opened, read, wanted = [], [], []
    real_init, real_read, real_wanted = Cache.__init__, Cache._read_local, engine.wanted_files
    monkeypatch.setattr(Cache, "__init__", lambda self, root: opened.append(root) or real_init(self, root))
    monkeypatch.setattr(Cache, "_read_local", lambda self: read.append(self.root) or real_read(self))
    monkeypatch.setattr(engine, "wanted_files", lambda tree, cache, jobs=4: wanted.append(cache) or
                        real_wanted(tree, cache, jobs))
    code, out, err = project.drift("--no-issue", "--output", "json")
    assert code == 0, out + err
    assert [t["target"] for t in json.loads(out)["targets"]] == ["local", "prod"]  # two plans, both in sync
    assert len(opened) == 1 and read == opened  # the index: opened once, read once
    assert len(wanted) == 1  # the wanted files: worked out once for both targets

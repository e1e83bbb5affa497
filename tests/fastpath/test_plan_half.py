"""plan's local half against an object store, kept (compiler/fastpath/plan_half.py): the target's
state and listing are read each run, so what a replay says about the bucket is what a full run
says, whatever changed there; each part of the key (the manifest, models.lock, the settings, the
policy, the tool, the sources) makes the local half compute again; TRITON_GITOPS_FASTPATH=0 says
the same."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from compiler.commands import plan
from compiler.storage import files as storage_files
from compiler.sync.state import STATE_NAME
from tests.fastpath.test_verdict import CHANGES, _break, example_project
from tests.helpers import REPO, run_cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    """tests/fastpath/test_verdict.py's example project (a warning, a note, no racy window)."""
    return example_project(tmp_path, monkeypatch)


@pytest.fixture
def bucket(project, s3_emulator, monkeypatch):
    """The project's target `store` (s3://BUCKET/models, no storage options: the environment
    names moto), synced once; (fsspec filesystem, root)."""
    for name, value in s3_emulator.env().items():
        monkeypatch.setenv(name, value)
    name = s3_emulator.make_bucket()
    manifest = project / "models.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("  local: {url: build/model_repository}",
                                     f"  local: {{url: build/model_repository}}\n  store: {{url: s3://{name}/models}}", 1))
    assert manifest.read_text() != text
    code, _, err = run_cli("sync", "models.yaml", "--target", "store", cwd=project)
    assert code == 0, err
    return s3_emulator.fs(), f"{name}/models"


@pytest.fixture
def counted(monkeypatch) -> dict:
    """How many plans computed everything (`_run`) and how many replayed the local half (`_against`)."""
    calls = {"full": 0, "half": 0}
    full, half = plan._run, plan._against

    def counting_full(*args):
        calls["full"] += 1
        return full(*args)

    def counting_half(*args):
        calls["half"] += 1
        return half(*args)

    monkeypatch.setattr(plan, "_run", counting_full)
    monkeypatch.setattr(plan, "_against", counting_half)
    return calls


def _plan(folder, monkeypatch, fastpath: bool = True, *extra) -> list:
    """[(exit code, stdout, stderr)] of plan --target store as text and as JSON."""
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if fastpath else "0")
    out = []
    for output in ("text", "json"):
        out.append(run_cli("plan", "models.yaml", "--target", "store", "--output", output, *extra, cwd=folder))
    return out


def test_a_replayed_half_says_exactly_what_the_plain_plan_says(project, bucket, monkeypatch, counted):
    plain = _plan(project, monkeypatch, fastpath=False)
    assert [code for code, _, _ in plain] == [0, 0] and "in sync" in plain[0][1]
    assert "warning" in plain[0][1] and "sources:" in plain[0][1] and "note: " in plain[0][2]  # a head to replay
    assert json.loads(plain[1][1])["sources"]
    cold = _plan(project, monkeypatch)
    assert counted == {"full": 4, "half": 0}, "plain text and JSON, then kept by the first fast runs"
    warm = _plan(project, monkeypatch)
    assert counted == {"full": 4, "half": 2}
    assert plain == cold == warm


def _touch(fs, root: str, change: str) -> None:
    fs.invalidate_cache()
    if change == "object deleted":
        fs.rm_file(f"{root}/text_classifier/config.pbtxt")
    elif change == "object edited":
        fs.pipe_file(f"{root}/text_classifier/1/model.py", b"# edited in the bucket\n")
    elif change == "object edited, same size":
        path = f"{root}/text_classifier/1/model.py"
        data = fs.cat_file(path)
        fs.pipe_file(path, bytes([data[0] ^ 1]) + data[1:])
    elif change == "extra object":
        fs.pipe_file(f"{root}/stray/notes.txt", b"not ours\n")
    elif change == "state changed":
        state = json.loads(fs.cat_file(f"{root}/{STATE_NAME}"))
        state["files"]["text_classifier/1/model.py"]["sha256"] = "0" * 64  # another content written: an update
        fs.pipe_file(f"{root}/{STATE_NAME}", json.dumps(state).encode())
    elif change == "state removed":  # every file is then not ours, adopted where its md5 matches
        fs.rm_file(f"{root}/{STATE_NAME}")
    else:
        raise AssertionError(change)


@pytest.mark.parametrize("change", ["object deleted", "object edited", "object edited, same size", "extra object",
                                    "state changed", "state removed"])
def test_a_change_in_the_bucket_shows_in_the_replayed_plan(project, bucket, monkeypatch, counted, change):
    _plan(project, monkeypatch)
    first = _plan(project, monkeypatch)
    assert counted == {"full": 2, "half": 2}
    _touch(*bucket, change)
    after = _plan(project, monkeypatch)
    assert counted == {"full": 2, "half": 4}, "the local half replayed, the bucket read again"
    assert after == _plan(project, monkeypatch, fastpath=False)
    if change != "state removed":  # a plan says nothing of adopting: a sync would only write the state
        assert after != first
    for extra in ((), ("--prune",)):  # and with the other option (another key): computed, then kept
        assert _plan(project, monkeypatch, True, *extra) == _plan(project, monkeypatch, False, *extra)


@pytest.mark.parametrize("change", CHANGES)
def test_each_key_part_makes_the_half_compute_again(project, bucket, monkeypatch, counted, change):
    _plan(project, monkeypatch)
    _plan(project, monkeypatch)
    assert counted == {"full": 2, "half": 2}
    _break(project, change, monkeypatch)
    after = _plan(project, monkeypatch)
    assert counted["half"] == 2, f"{change}: replayed a half of other inputs"
    assert after == _plan(project, monkeypatch, fastpath=False)


def test_a_target_through_a_variable_or_with_credentials_is_never_kept(project, bucket, monkeypatch, counted,
                                                                         tmp_path):
    fs, root = bucket
    monkeypatch.setenv("TG_BUCKET", root.split("/")[0])
    manifest = project / "models.yaml"
    manifest.write_text(manifest.read_text().replace(f"s3://{root}", "s3://${TG_BUCKET}/models", 1))
    _plan(project, monkeypatch)
    _plan(project, monkeypatch)
    assert counted == {"full": 4, "half": 0}
    assert not list((tmp_path / "cache" / "results").glob("*.plan"))


def test_a_url_on_the_command_line_is_resolved_again_at_replay(project, bucket, monkeypatch, counted):
    """The URL of the manifest's target `store`: resolved to it (its name in the output), kept,
    replayed; the same URL with another manifest target of that URL is another key (the manifest)."""
    _, root = bucket
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1")
    runs = []
    for _ in range(2):
        runs.append(run_cli("plan", "models.yaml", "--target", f"s3://{root}", cwd=project))
    assert counted == {"full": 1, "half": 1} and runs[0] == runs[1] and "store (s3://" in runs[0][1]


def test_a_racy_half_is_not_kept(project, bucket, monkeypatch, counted, tmp_path):
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 3600.0)
    _plan(project, monkeypatch)
    _plan(project, monkeypatch)
    assert counted == {"full": 4, "half": 0}


def test_a_replayed_half_with_the_prefetch_helper_says_the_same(project, bucket, tmp_path):
    """As a user runs it: a process of its own, the target read by the forked helper."""
    fs, root = bucket
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRITON_GITOPS_PREFETCH": "1", "TRITON_GITOPS_FASTPATH": "1"}

    def plan_(**extra):
        done = subprocess.run([sys.executable, "-m", "compiler", "plan", "models.yaml", "--target", "store"],
                              env={**env, **extra}, cwd=project, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout

    time.sleep(storage_files.RACY_SECONDS + 2.1)  # no racy window here: the project was written just now (0 in this process)
    kept = plan_()
    (entry,) = (tmp_path / "cache" / "results").glob("*.plan")
    stamp = entry.stat().st_mtime_ns
    assert kept[0] == 0
    _touch(fs, root, "extra object")
    replayed = plan_()
    assert entry.stat().st_mtime_ns == stamp, "replayed, not computed and kept again"
    assert replayed == plan_(TRITON_GITOPS_FASTPATH="0") and "stray/notes.txt" not in kept[1]
    assert replayed[0] == 0 and "1 file not written by triton-gitops left alone" in replayed[1]

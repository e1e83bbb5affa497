"""validate's whole answer, replayed (compiler/fastpath/verdict.py): the same output as the plain
code, and each part of its key (the manifest, models.lock, the settings, the storage policy, the
tool, every file and folder under the local sources) makes it compute again."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from compiler.commands import validate
from compiler.compile import tool_stamp
from compiler.control_files import STATE_NAME, TMP_PREFIX
from compiler.fastpath import verdict
from compiler.storage import files as storage_files
from tests.helpers import REPO, run_cli


@pytest.fixture
def project(tmp_path, monkeypatch):
    return example_project(tmp_path, monkeypatch)


def example_project(tmp_path, monkeypatch) -> Path:
    """A copy of the example project with a warning (a model missing from models.lock) and the
    note about `triton:`, a cache folder of its own, and no racy window (the files are written
    just before each run here; tests/fastpath/test_verdict.py::test_a_racy_answer_is_not_kept
    covers it)."""
    folder = tmp_path / "project"
    folder.mkdir()
    text = (REPO / "models.yaml").read_text()
    (folder / "models.yaml").write_text(re.sub(r'(?m)^triton: "24.10".*\n', "", text, count=1))
    shutil.copytree(REPO / "examples", folder / "examples")
    assert run_cli("lock", "models.yaml", cwd=folder)[0] == 0
    lock = json.loads((folder / "models.lock").read_text())
    del lock["versions"]["preprocess/1"]
    (folder / "models.lock").write_text(json.dumps(lock))
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRITON_GITOPS_FASTPATH", raising=False)
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    return folder


@pytest.fixture
def computed(monkeypatch) -> list:
    """One entry per validate run that computed its answer (not replayed)."""
    calls: list = []
    plain = validate._answer

    def counting(*args):
        calls.append(args[0])
        return plain(*args)

    monkeypatch.setattr(validate, "_answer", counting)
    return calls


def _validate(folder: Path, monkeypatch, fastpath: bool = True, *extra) -> list:
    """[(exit code, stdout, stderr)] of validate as text and as JSON (each run shows its notes)."""
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if fastpath else "0")
    out = []
    for output in ("text", "json"):
        out.append(run_cli("validate", "models.yaml", "--output", output, *extra, cwd=folder))
    return out


def _kept_ok_with(project: Path, monkeypatch, computed: list, old: str, new: str) -> list:
    """validate's answers once the manifest's `old` reads `new`: an OK, computed once and kept."""
    manifest = project / "models.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace(old, new, 1))
    assert manifest.read_text() != text
    allowed = _validate(project, monkeypatch)
    assert allowed[0][0] == 0 and _validate(project, monkeypatch) == allowed and len(computed) == 1  # kept
    return allowed


def test_a_replay_says_exactly_what_the_plain_code_says(project, monkeypatch, computed, tmp_path):
    plain = _validate(project, monkeypatch, fastpath=False)
    assert computed == ["models.yaml", "models.yaml"]
    assert not (tmp_path / "cache" / "results").exists() or not list((tmp_path / "cache" / "results").glob("*.verdict"))
    assert plain[0][0] == 0 and "warning" in plain[0][1] and "note: " in plain[0][2]  # something to replay
    cold = _validate(project, monkeypatch)
    assert len(computed) == 3, "the first text run computes and keeps; the JSON run replays the problems"
    warm = _validate(project, monkeypatch)
    assert len(computed) == 3, "replayed"
    assert plain == cold == warm


def test_a_failing_answer_is_replayed_too(project, monkeypatch, computed):
    _break(project, "manifest", monkeypatch)
    plain = _validate(project, monkeypatch, fastpath=False)
    assert [code for code, _, _ in plain] == [1, 1] and "error" in plain[0][1]
    assert _validate(project, monkeypatch) == plain == _validate(project, monkeypatch)
    assert len(computed) == 3, "kept by the first run, replayed since"


def _break(project: Path, change: str, monkeypatch) -> None:
    manifest, classifier = project / "models.yaml", project / "examples" / "text_classifier"
    if change == "manifest":
        manifest.write_text(manifest.read_text().replace("max_batch_size: 8", "max_batch_size: -8", 1))
    elif change == "source file edited":
        (classifier / "1" / "model.py").write_text("# edited\n")
    elif change == "source file added":
        (classifier / "1" / "extra.txt").write_text("new\n")
    elif change == "source file removed":
        (classifier / "1" / "model.py").unlink()
    elif change == "source file made unreadable":
        (classifier / "1" / "model.py").chmod(0)
    elif change == "source folder replaced by a symlink":
        shutil.move(classifier, project / "elsewhere")
        classifier.symlink_to(project / "elsewhere")
    elif change == "models.lock":
        (project / "models.lock").unlink()
    elif change == "settings":
        monkeypatch.setenv("TRITON_GITOPS_JOBS", "3")
    elif change == "storage policy":
        monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", "storage.example.com")
    elif change == "tool":
        monkeypatch.setattr(tool_stamp, "_FINGERPRINT", [b"0" * 64])
    elif change == "git boundary":
        (project / ".git").mkdir()
    elif change == "local target turned into a link out":  # the manifest's target: build/model_repository
        (project.parent / "elsewhere").mkdir()
        (project / "build").symlink_to(project.parent / "elsewhere")
    else:
        raise AssertionError(change)


CHANGES = ["manifest", "source file edited", "source file added", "source file removed",
           "source folder replaced by a symlink", "models.lock", "settings", "storage policy", "tool",
           "git boundary", "local target turned into a link out"] + (["source file made unreadable"] if os.geteuid() != 0 else [])


@pytest.mark.parametrize("change", CHANGES)
def test_each_key_part_makes_it_compute_again(project, monkeypatch, computed, change):
    _validate(project, monkeypatch)
    first = _validate(project, monkeypatch)
    before = len(computed)
    assert before == 1  # kept on the first run, replayed since
    _break(project, change, monkeypatch)
    after = _validate(project, monkeypatch)
    assert len(computed) > before, f"{change}: replayed an answer to other inputs"
    assert after == _validate(project, monkeypatch, fastpath=False)
    if change in ("manifest", "source file edited", "source file removed", "models.lock",
                  "local target turned into a link out"):
        assert after != first  # the change is found (an error, or a warning of models.lock)
    if change != "source folder replaced by a symlink":  # kept again (after an edited source, with the
        computed.clear()                                   # walk that found the change), and replayed
        assert _validate(project, monkeypatch) == after and computed == []


def test_a_folder_on_the_way_to_the_sources_turned_into_a_symlink(project, monkeypatch, computed):
    """The `examples` folder itself (above every source) swapped for a link to a copy."""
    _validate(project, monkeypatch)
    shutil.move(project / "examples", project / "copy")
    (project / "examples").symlink_to(project / "copy")
    before = len(computed)
    assert _validate(project, monkeypatch) == _validate(project, monkeypatch, fastpath=False)
    _validate(project, monkeypatch)
    assert len(computed) == before + 6, "a link on the way: never replayed (3 x text and JSON)"


def test_a_racy_answer_is_not_kept(project, monkeypatch, computed, tmp_path):
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 3600.0)  # every input changed "just now"
    _validate(project, monkeypatch)
    _validate(project, monkeypatch)
    assert len(computed) == 4
    assert not list((tmp_path / "cache" / "results").glob("*.verdict"))


@pytest.mark.parametrize("content", [b"", b"garbage", b"triton-gitops verdict 1\n", None, "poisoned key"])
def test_a_corrupt_or_foreign_verdict_is_ignored(project, monkeypatch, computed, tmp_path, content):
    plain = _validate(project, monkeypatch, fastpath=False)
    _validate(project, monkeypatch)
    (kept,) = (tmp_path / "cache" / "results").glob("*.verdict")
    raw = kept.read_bytes()
    if content is None:
        content = raw[: len(raw) // 2]
    elif content == "poisoned key":  # the same tool's header, an entry for other inputs
        import marshal

        head = verdict._MAGIC + tool_stamp.fingerprint() + b"\n"
        entry = marshal.loads(raw[len(head):])
        entry["key"] = b"\0" * 32
        entry["problems"] = []
        content = head + marshal.dumps(entry)
    kept.write_bytes(content)
    before = len(computed)
    assert _validate(project, monkeypatch) == plain
    assert len(computed) == before + 1


def test_an_unwritable_cache_folder_is_no_error(project, monkeypatch, tmp_path):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    assert _validate(project, monkeypatch) == _validate(project, monkeypatch, fastpath=False)


@pytest.mark.parametrize("source", ["remote source", "storage options"])
def test_what_reads_a_store_or_may_hold_a_credential_is_never_kept(project, monkeypatch, tmp_path, computed, source):
    manifest = project / "models.yaml"
    text = manifest.read_text()
    if source == "remote source":
        text = text.replace("source: examples/text_classifier/1", "source: s3://bucket/text_classifier/1", 1)
    else:
        text = text.replace("  local: {url: build/model_repository}",
                            "  local: {url: build/model_repository}\n"
                            "  remote: {url: s3://bucket/models, storage_options: {key: AKIAVERDICTSECRET1}}")
    assert text != manifest.read_text()
    manifest.write_text(text)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a refused connection, on loopback
    _validate(project, monkeypatch)
    assert not list((tmp_path / "cache" / "results").glob("*.verdict"))
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert b"AKIAVERDICTSECRET1" not in path.read_bytes()


def test_off_means_none(monkeypatch):
    from compiler import fastpath
    from compiler.artifacts.settings import Settings

    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "0")
    assert fastpath.verdict_for("models.yaml", Settings()) is None


def _plan(folder: Path, monkeypatch, fastpath: bool = True, *extra) -> list:
    """[(exit code, stdout, stderr)] of plan --target local as text and as JSON."""
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if fastpath else "0")
    out = []
    for output in ("text", "json"):
        out.append(run_cli("plan", "models.yaml", "--target", "local", "--output", output, *extra, cwd=folder))
    return out


@pytest.fixture
def synced(project, monkeypatch) -> Path:
    """The project synced once to its local target (build/model_repository): a no-op plan."""
    assert run_cli("sync", "models.yaml", "--target", "local", cwd=project)[0] == 0
    return project / "build" / "model_repository"


@pytest.fixture
def planned(monkeypatch) -> list:
    """One entry per plan run that computed its output (not replayed)."""
    from compiler.commands import plan

    calls: list = []
    plain = plan._run

    def counting(*args):
        calls.append(args[0].output)
        return plain(*args)

    monkeypatch.setattr(plan, "_run", counting)
    return calls


def test_a_replayed_plan_says_exactly_what_the_plain_one_says(project, synced, monkeypatch, planned):
    plain = _plan(project, monkeypatch, fastpath=False)
    assert [code for code, _, _ in plain] == [0, 0] and "in sync" in plain[0][1] and "note: " in plain[0][2]
    cold = _plan(project, monkeypatch)
    warm = _plan(project, monkeypatch)
    assert len(planned) == 4, "kept by the first text and JSON runs, then replayed"
    assert plain == cold == warm


def _touch_target(project: Path, target: Path, change: str, monkeypatch) -> None:
    if change == "target file edited":
        (target / "text_classifier" / "1" / "model.py").write_text("# edited on the target\n")
    elif change == "target file removed":
        (target / "text_classifier" / "config.pbtxt").unlink()
    elif change == "file added to the target":
        (target / "stray.txt").write_text("not ours\n")
    elif change == "staging folder beside the target":
        (target.parent / f".{target.name}{TMP_PREFIX}1").mkdir()
    elif change == "state file":
        state = target / STATE_NAME
        state.write_bytes(state.read_bytes() + b" ")  # the same state, other bytes
    elif change == "source file edited":
        (project / "examples" / "text_classifier" / "1" / "model.py").write_text("# edited\n")
    elif change == "another option":
        return  # see the test: --prune
    else:
        raise AssertionError(change)


@pytest.mark.parametrize("change", ["target file edited", "target file removed", "file added to the target",
                                    "staging folder beside the target", "state file", "source file edited",
                                    "another option"])
def test_each_change_of_the_target_or_the_sources_makes_the_plan_compute_again(project, synced, monkeypatch,
                                                                              planned, change):
    _plan(project, monkeypatch)
    first = _plan(project, monkeypatch)
    assert len(planned) == 2
    _touch_target(project, synced, change, monkeypatch)
    extra = ("--prune",) if change == "another option" else ()
    after = _plan(project, monkeypatch, True, *extra)
    assert len(planned) == 4, f"{change}: replayed a plan of other inputs"
    assert after == _plan(project, monkeypatch, False, *extra)
    if change in ("target file edited", "target file removed", "file added to the target", "source file edited"):
        assert after != first  # the plan has work now


def test_a_target_named_on_the_command_line_or_through_a_variable_is_not_replayed(project, monkeypatch, planned,
                                                                                  tmp_path):
    folder = tmp_path / "elsewhere"
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1")
    for _ in range(2):
        run_cli("plan", "models.yaml", "--target", str(folder), cwd=project)
    assert len(planned) == 2
    assert not list((tmp_path / "cache" / "results").glob("*.plan"))


def test_a_source_outside_the_work_tree_is_neither_kept_nor_walked(project, monkeypatch, computed, tmp_path):
    """The plain code refuses `../outside` without listing it; the kept answer must not walk it either."""
    (project / ".git").mkdir()
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "model.py").write_text("# not reviewed\n")
    manifest = project / "models.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("source: examples/text_classifier/1", "source: ../outside", 1))
    assert manifest.read_text() != text
    walked: list = []
    plain_walk = verdict._walk
    monkeypatch.setattr(verdict, "_walk", lambda folder, digest: walked.append(folder) or plain_walk(folder, digest))
    plain = _validate(project, monkeypatch, fastpath=False)
    assert plain[0][0] == 1 and "source-outside" in plain[0][1]
    assert _validate(project, monkeypatch) == plain == _validate(project, monkeypatch)
    assert len(computed) == 6, "never kept"
    assert not any(str(outside) in folder for folder in walked)


def test_a_changed_target_is_walked_once(project, synced, monkeypatch, planned):
    """The replay's walk of the target (which found the change) is the one the new answer keeps."""
    _plan(project, monkeypatch)
    (synced / "stray.txt").write_text("not ours\n")
    walks: list = []
    plain_signature = verdict._target_signature
    monkeypatch.setattr(verdict, "_target_signature", lambda root: walks.append(root) or plain_signature(root))
    run_cli("plan", "models.yaml", "--target", "local", cwd=project)
    assert walks == [str(synced)] and len(planned) == 3
    run_cli("plan", "models.yaml", "--target", "local", cwd=project)
    assert len(planned) == 3, "kept with that walk, replayed"


def test_only_what_the_listing_calls_a_staging_leftover_matters_beside_the_target(project, synced, monkeypatch,
                                                                                 planned):
    """The rule of compiler/sync/listing.py (`.<name><TMP_PREFIX>...`), not a looser prefix of its own."""
    _plan(project, monkeypatch)
    (synced.parent / f".{synced.name}-unrelated").mkdir()  # not a leftover: the plan cannot see it
    _plan(project, monkeypatch)
    assert len(planned) == 2, "replayed"
    (synced.parent / f".{synced.name}{TMP_PREFIX}2").mkdir()
    assert _plan(project, monkeypatch) == _plan(project, monkeypatch, False)
    assert len(planned) == 6


def test_a_remote_targets_variable_values_are_part_of_the_key(project, monkeypatch, computed):
    """validate expands the variables a remote target's URL may use (TRITON_GITOPS_ALLOWED_ENV)
    and checks where the result sends credentials: a kept OK must not outlive the value it was
    checked with, nor a kept refusal the value that fixed it."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_CONTAINER")
    monkeypatch.setenv("MODELS_CONTAINER", "models")
    allowed = _kept_ok_with(project, monkeypatch, computed, "targets:", 'targets:\n  prod: {url: "abfs://${MODELS_CONTAINER}/prod"}')
    monkeypatch.setenv("MODELS_CONTAINER", "models@evil.example.com")  # the account's endpoint: elsewhere
    refused = _validate(project, monkeypatch)
    assert refused == _validate(project, monkeypatch, fastpath=False)
    assert refused[0][0] == 1 and "https://evil.example.com, which the storage policy" in refused[0][1], refused[0]
    monkeypatch.setenv("MODELS_CONTAINER", "models")
    assert _validate(project, monkeypatch) == allowed


def test_a_local_targets_variable_values_are_part_of_the_key(project, monkeypatch, computed, tmp_path):
    """validate checks a local target where its variables put it (manifest/local_target.py): a kept
    OK must not outlive the value it was checked with, nor a kept refusal the value that fixed it."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT")  # the storage policy lets it be expanded
    monkeypatch.setenv("TG_OUT", str(project / "build"))
    allowed = _kept_ok_with(project, monkeypatch, computed, "url: build/model_repository", 'url: "${TG_OUT}/repo"')
    monkeypatch.setenv("TG_OUT", str(tmp_path / "elsewhere"))
    refused = _validate(project, monkeypatch)
    assert refused == _validate(project, monkeypatch, fastpath=False)
    assert refused[0][0] == 1 and "[target-outside]" in refused[0][1], refused[0]
    monkeypatch.delenv("TG_OUT")
    unset = _validate(project, monkeypatch)
    assert unset[0][0] == 1 and "refers to ${TG_OUT}, which is not set" in unset[0][1], unset[0]
    monkeypatch.setenv("TG_OUT", str(project / "build"))
    assert _validate(project, monkeypatch) == allowed


def test_whether_the_policy_allows_a_local_targets_variable_decides_the_answer(project, monkeypatch, computed):
    """A kept OK must not outlive the policy that let the variable be expanded, nor a kept refusal
    the policy that allows it now (manifest/local_target.py: a refused variable is never expanded)."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_FOLDER")
    monkeypatch.setenv("MODELS_FOLDER", "team-a")
    allowed = _kept_ok_with(project, monkeypatch, computed, "url: build/model_repository", 'url: "build/${MODELS_FOLDER}"')
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_*")
    refused = _validate(project, monkeypatch)
    assert refused == _validate(project, monkeypatch, fastpath=False)
    assert refused[0][0] == 1 and "${MODELS_FOLDER} is not allowed by the storage policy" in refused[0][1], refused[0]
    assert "team-a" not in refused[0][1] + refused[0][2]
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_*")
    assert _validate(project, monkeypatch) == allowed

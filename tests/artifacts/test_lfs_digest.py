"""A big file checked out through Git LFS takes its sha256 from the pointer git holds, only while
git vouches that the file is the pointer's content; every doubt hashes it (real git, real git-lfs)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import time

import pytest

from compiler.artifacts import file_digest, lfs_digest
from compiler.artifacts.cache import Cache
from compiler.storage import files as storage_files
from compiler.storage.lfs_pointer import parse_pointer
from tests.artifacts.lfs_repo import MIB, git, index_blob, lfs_repo, needs_git_lfs, next_second, small_threshold
from tests.artifacts.manifests import write_manifest
from tests.helpers import run_json

pytestmark = needs_git_lfs
__all__ = ["small_threshold"]  # a fixture, used by name

DATA = os.urandom(2 * MIB + 3)


@pytest.fixture
def hashed(monkeypatch):
    """The paths file_digest read for their sha256."""
    calls: list = []
    real = file_digest.sha256_file
    monkeypatch.setattr(file_digest, "sha256_file", lambda path: calls.append(str(path)) or real(path))
    return calls


def digest(tmp_path, path) -> str:
    return file_digest.digest_local(Cache(tmp_path / "cache"), path)[0]


def test_a_committed_lfs_file_is_not_read_and_its_digest_is_the_pointers(tmp_path, small_threshold, monkeypatch):
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)
    repo = lfs_repo(tmp_path / "repo", {"models/m/1/model.onnx": DATA})
    pointer = parse_pointer(index_blob(repo, "models/m/1/model.onnx"))
    assert pointer is not None and pointer.size == len(DATA)  # git-lfs made a pointer in the index
    monkeypatch.setattr(file_digest, "sha256_file", lambda path: pytest.fail(f"{path} was read"))
    path = repo / "models/m/1/model.onnx"
    cache = Cache(tmp_path / "cache")
    sha, md5, key = file_digest.digest_local(cache, path)
    assert sha == hashlib.sha256(DATA).hexdigest() == pointer.sha256 and md5 == "" and key is not None
    cache.save()
    # recorded in the hash index like a hashed digest (the file's stamps being old enough: they
    # are seconds old here, and storage/files.py's racy window is patched away): the next run
    # asks git nothing
    monkeypatch.setattr(lfs_digest, "_vouched_sha256", lambda *a: pytest.fail("git asked again"))
    assert file_digest.digest_local(Cache(tmp_path / "cache"), path)[0] == sha


def test_md5_when_asked_is_still_read(tmp_path, small_threshold, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    sha, md5, _ = file_digest.digest_local(Cache(tmp_path / "cache"), repo / "model.onnx", want_md5=True)
    assert (sha, md5) == (hashlib.sha256(DATA).hexdigest(), hashlib.md5(DATA).hexdigest()) and hashed == []


def test_below_the_threshold_the_file_is_hashed(tmp_path, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})  # 2 MiB, under the real MIN_SIZE
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


def rewrite_keeping_size_and_mtime(path, data: bytes) -> None:
    """What `touch -r` after an edit leaves: same size, same mtime; only ctime (and content) moved."""
    before = os.stat(path)
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def rewrite_index_later(repo) -> None:
    """The index written again in a later second (another file added): an edit made before
    is then no longer racily clean, and only the stat data can show it."""
    next_second()
    (repo / "notes.txt").write_text("later\n")
    git(repo, "add", "notes.txt")


def git_says_unmodified(repo, rel: str) -> bool:
    """The repository's own git, with its own config, on the file."""
    return subprocess.run(["git", "-C", str(repo), "diff-files", "--quiet", "--", rel], check=False).returncode == 0


@pytest.mark.parametrize("setting", [None, "core.checkStat=minimal", "core.trustctime=false"])
def test_a_file_rewritten_after_the_commit_is_hashed(tmp_path, small_threshold, hashed, setting):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    if setting:
        git(repo, "config", *setting.split("="))
    other = os.urandom(len(DATA))
    rewrite_keeping_size_and_mtime(repo / "model.onnx", other)
    rewrite_index_later(repo)
    # with checkStat=minimal or trustctime=false the repository's git calls the file unmodified
    assert git_says_unmodified(repo, "model.onnx") == bool(setting)
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(other).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


def test_an_edit_in_the_second_git_recorded_is_hashed(tmp_path, small_threshold, hashed):
    # git compares stat times in whole seconds: an edit that sets mtime back, made in the
    # second whose ctime git recorded, looks unmodified to git itself, whatever its config
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    path = repo / "model.onnx"
    for _ in range(5):  # the add and the edit must fall in one second
        next_second()
        os.utime(path, (time.time() - 60, time.time() - 60))
        git(repo, "add", "model.onnx")
        recorded = os.stat(path).st_ctime_ns
        other = os.urandom(len(DATA))
        rewrite_keeping_size_and_mtime(path, other)
        if os.stat(path).st_ctime_ns // 10**9 == recorded // 10**9 and os.stat(path).st_ctime_ns != recorded:
            break
    else:
        pytest.skip("could not edit the file within the second git recorded it")
    rewrite_index_later(repo)
    assert git_says_unmodified(repo, "model.onnx")
    assert digest(tmp_path, path) == hashlib.sha256(other).hexdigest()
    assert hashed == [str(path)]


def test_a_file_rewritten_with_an_older_mtime_is_hashed(tmp_path, small_threshold, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    other = os.urandom(len(DATA))
    (repo / "model.onnx").write_bytes(other)
    past = time.time() - 30  # not racy: git's stat check alone must see it
    os.utime(repo / "model.onnx", (past, past))
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(other).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


@pytest.mark.parametrize("flag", ["--assume-unchanged", "--skip-worktree"])
def test_an_entry_git_is_told_not_to_look_at_is_hashed(tmp_path, small_threshold, hashed, flag):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    git(repo, "update-index", flag, "model.onnx")
    other = os.urandom(len(DATA))
    rewrite_keeping_size_and_mtime(repo / "model.onnx", other)
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(other).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


def fake_clean_filter(repo, rel: str, pointer: bytes) -> None:
    """Stage `pointer` as the file's blob with the file's own stat data, as if git-lfs had made it:
    a lying clean filter (git itself then calls the file unmodified)."""
    fake = repo.parent / "pointer.txt"
    fake.write_bytes(pointer)
    past = time.time() - 30
    os.utime(repo / rel, (past, past))  # a new stat, so that `add` cleans the file again
    time.sleep(1.1)  # its ctime out of the second the index is written in: not racily clean
    # a driver of its own (git-lfs's filter-process, configured system-wide, would take precedence)
    (repo / ".git" / "info" / "attributes").write_text(f"{rel} filter=fake\n")
    git(repo, "-c", f"filter.fake.clean=cat >/dev/null && cat {fake}", "add", rel)
    (repo / ".git" / "info" / "attributes").unlink()
    assert index_blob(repo, rel) == pointer


def pointer_text(sha: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha}\nsize {size}\n".encode()


def test_a_pointer_whose_size_is_not_the_files_is_not_trusted(tmp_path, small_threshold, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    wrong = "ab" * 32
    fake_clean_filter(repo, "model.onnx", pointer_text(wrong, len(DATA) + 1))
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "model.onnx")]
    # the same lie with the right size is believed: the trust is in git and git-lfs having made the file
    fake_clean_filter(repo, "model.onnx", pointer_text(wrong, len(DATA)))
    assert lfs_digest.pointer_sha256(repo / "model.onnx", os.stat(repo / "model.onnx")) == wrong


def test_outside_a_git_repository_the_file_is_hashed(tmp_path, small_threshold, hashed):
    (tmp_path / "model.onnx").write_bytes(DATA)
    assert digest(tmp_path, tmp_path / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(tmp_path / "model.onnx")]


def test_a_big_file_tracked_without_lfs_is_hashed(tmp_path, small_threshold, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA}, lfs=False)
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


def test_an_untracked_file_in_a_repository_is_hashed(tmp_path, small_threshold, hashed):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    (repo / "new.onnx").write_bytes(DATA)
    assert digest(tmp_path, repo / "new.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "new.onnx")]


def record_commands(monkeypatch) -> list:
    commands: list = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda command, *a, **o: commands.append(command) or real_run(command, *a, **o))
    return commands


def test_a_file_of_the_index_s_own_tick_is_hashed_and_git_not_asked_to_look(tmp_path, small_threshold, hashed,
                                                                          monkeypatch):
    # racily clean even to the nanosecond: the index written in the tick the file last changed
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    changed = os.stat(repo / "model.onnx").st_ctime_ns
    os.utime(repo / ".git" / "index", ns=(changed, changed))
    commands = record_commands(monkeypatch)
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "model.onnx")]
    assert not [c for c in commands if "diff-files" in c]  # git would have read it through a filter


def test_a_file_of_the_index_s_second_but_an_earlier_tick_is_trusted(tmp_path, small_threshold, hashed, monkeypatch):
    # what a fresh clone leaves for the files it wrote last: racily clean to git's seconds only
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    for _ in range(5):
        next_second()
        (repo / "model.onnx").touch()
        git(repo, "update-index", "--refresh")  # stat data recorded, the index written just after
        changed, index = os.stat(repo / "model.onnx").st_ctime_ns, os.stat(repo / ".git" / "index").st_mtime_ns
        if changed // 10**9 == index // 10**9 and changed < index:
            break
    else:
        pytest.skip("could not write the index in the file's second")
    commands = record_commands(monkeypatch)
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest() and hashed == []
    assert not [c for c in commands if "diff-files" in c]


def test_a_fresh_clone_s_files_are_trusted_unless_written_in_the_index_s_tick(tmp_path, small_threshold, hashed):
    origin = lfs_repo(tmp_path / "origin", {"v/model.onnx": DATA, "v/weights.bin": DATA[::-1]})
    git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"
    assert (clone / "v" / "weights.bin").read_bytes() == DATA[::-1]  # git-lfs smudged the files
    index = os.stat(clone / ".git" / "index").st_mtime_ns
    files = {clone / "v" / "model.onnx": DATA, clone / "v" / "weights.bin": DATA[::-1]}
    # a file the clone wrote in the very tick it wrote the index is racily clean to the nanosecond
    racy = [str(path) for path in files if os.stat(path).st_ctime_ns >= index]
    if len(racy) == len(files):
        pytest.skip("the clone wrote both files in the index's own tick")
    cache = Cache(tmp_path / "cache")
    for path, content in files.items():
        assert file_digest.digest_local(cache, path)[0] == hashlib.sha256(content).hexdigest()
    assert hashed == racy


def test_a_file_that_changes_while_git_is_asked_is_hashed(tmp_path, small_threshold, hashed, monkeypatch):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    real_run = subprocess.run

    def touch_after_diff_files(command, *args, **options):
        answer = real_run(command, *args, **options)
        if "diff-files" in command:
            assert answer.returncode == 0  # git vouched for the file as it was
            os.utime(repo / "model.onnx")  # then it changed before we looked again
        return answer

    monkeypatch.setattr(subprocess, "run", touch_after_diff_files)
    stat = os.stat(repo / "model.onnx")
    assert lfs_digest.pointer_sha256(repo / "model.onnx", stat) is None
    assert digest(tmp_path, repo / "model.onnx") == hashlib.sha256(DATA).hexdigest()
    assert hashed == [str(repo / "model.onnx")]


def test_the_environment_s_git_variables_do_not_steer_the_question(tmp_path, small_threshold, monkeypatch):
    repo = lfs_repo(tmp_path / "repo", {"model.onnx": DATA})
    other = lfs_repo(tmp_path / "other", {"model.onnx": os.urandom(len(DATA))})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))  # another repository's index would vouch for other bytes
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    stat = os.stat(repo / "model.onnx")
    assert lfs_digest.pointer_sha256(repo / "model.onnx", stat) == hashlib.sha256(DATA).hexdigest()


def test_a_pin_that_differs_from_an_lfs_file_still_fails(tmp_path, small_threshold, monkeypatch):
    repo = lfs_repo(tmp_path / "repo", {"src/model.onnx": DATA})
    monkeypatch.setattr(file_digest, "sha256_file", lambda path: pytest.fail(f"{path} was read"))
    wrong = hashlib.sha256(b"reviewed").hexdigest()
    manifest = write_manifest(repo, {1: {"source": "src/model.onnx", "sha256": wrong}})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["rule"] == "source-digest-mismatch"
    assert wrong in problem["message"] and hashlib.sha256(DATA).hexdigest() in problem["message"]


def test_a_rewritten_lfs_file_fails_the_pin_its_pointer_would_pass(tmp_path, small_threshold):
    repo = lfs_repo(tmp_path / "repo", {"src/model.onnx": DATA})
    pinned = hashlib.sha256(DATA).hexdigest()  # what the pointer says, and what was reviewed
    rewrite_keeping_size_and_mtime(repo / "src" / "model.onnx", os.urandom(len(DATA)))
    manifest = write_manifest(repo, {1: {"source": "src/model.onnx", "sha256": pinned}})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["rule"] == "source-digest-mismatch" and pinned in problem["message"]


def test_locked_compares_the_lfs_digest_with_models_lock(tmp_path, small_threshold):
    repo = lfs_repo(tmp_path / "repo", {"src/v1/model.onnx": DATA, "src/v1/weights.bin": DATA[::-1]})
    manifest = write_manifest(repo, {1: "src/v1"})
    code, report, _ = run_json("lock", manifest)
    assert code == 0, report
    code, report, _ = run_json("validate", manifest, "--locked")
    assert code == 0, report
    rewrite_keeping_size_and_mtime(repo / "src" / "v1" / "weights.bin", os.urandom(len(DATA)))
    code, report, _ = run_json("validate", manifest, "--locked")
    assert code == 1
    assert any(p["rule"] == "lock-mismatch" and "weights.bin" in p["message"] for p in report["problems"])

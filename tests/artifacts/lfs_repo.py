"""Git repositories whose big files are Git LFS files, made with real git and git-lfs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler.artifacts import lfs_digest

MIB = 1 << 20
# where scripts/bootstrap.sh unpacks git-lfs when it cannot install it system-wide
PATH = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def _git_lfs_missing() -> str:
    if shutil.which("git") is None:
        return "git is not installed"
    found = subprocess.run(["git", "lfs", "version"], capture_output=True, check=False, env={**os.environ, "PATH": PATH})
    return "" if found.returncode == 0 else "git-lfs is not installed (scripts/bootstrap.sh installs it as root)"


needs_git_lfs = pytest.mark.skipif(bool(_git_lfs_missing()), reason=_git_lfs_missing() or "-")


@pytest.fixture
def small_threshold(monkeypatch):
    """Files of a few MiB count as big (the real threshold is lfs_digest.MIN_SIZE)."""
    monkeypatch.setattr(lfs_digest, "MIN_SIZE", MIB)
    return MIB


def git(repo: Path, *args: str, **options) -> str:
    env = {**os.environ, "PATH": PATH, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True,
                          **options).stdout


def lfs_repo(repo: Path, files: dict, lfs: bool = True) -> Path:
    """A repository at `repo` holding `files` ({relative path: bytes}), committed; with `lfs`, every
    `*.onnx`, `*.bin`, `*.data` through Git LFS. The files' mtimes are set back a minute before they are
    added, and the commit waits for the next second: a file changed (mtime or ctime, which
    that utime sets) in the index's own second is racily clean, and never trusted."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q")
    if lfs:
        git(repo, "lfs", "install", "--local")
        git(repo, "lfs", "track", "*.onnx", "*.bin", "*.data")
    past = time.time() - 60
    for rel, data in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (past, past))
    next_second()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    return repo


def next_second() -> None:
    time.sleep(1.02 - time.time() % 1)


def index_blob(repo: Path, rel: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "blob", f":{rel}"], capture_output=True,
                          check=True).stdout

"""compiler.gitinfo against real repositories, including a `git clone --depth 1`."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compiler import gitinfo
from compiler.errors import FatalError
from tests.gitops.gitutil import commit_all, git, init_repo


@pytest.fixture
def upstream(tmp_path):
    """main: c1 (models.yaml v1) -> c2 (models.yaml v2, models/a.py); branch pr: c3 edits models.yaml."""
    repo = init_repo(tmp_path / "upstream")
    (repo / "deploy").mkdir()
    (repo / "deploy" / "models.yaml").write_text("v: 1\n")
    (repo / "README").write_text("hi\n")
    commit_all(repo, "c1")
    (repo / "deploy" / "models.yaml").write_text("v: 2\n")
    (repo / "deploy" / "models").mkdir()
    (repo / "deploy" / "models" / "a.py").write_text("print('a')\n")
    commit_all(repo, "c2")
    git(repo, "checkout", "-q", "-b", "pr")
    (repo / "deploy" / "models.yaml").write_text("v: 3\n")
    (repo / "README").write_text("changed outside deploy/\n")
    commit_all(repo, "c3")
    git(repo, "checkout", "-q", "main")
    return repo


def shallow_clone(upstream: Path, dest: Path, branch: str) -> Path:
    # file:// makes git honour --depth for a local clone
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", branch, upstream.as_uri(), str(dest)],
                   check=True)
    return dest


def test_revision_clean_then_dirty_then_untracked(upstream):
    rev = gitinfo.revision(upstream / "deploy" / "models.yaml")
    assert rev.sha == git(upstream, "rev-parse", "HEAD")
    assert (rev.branch, rev.dirty, rev.shallow) == ("main", False, False)
    assert str(rev) == rev.sha and rev.short == rev.sha[:12]
    (upstream / "README").write_text("outside the manifest folder\n")
    assert not gitinfo.revision(upstream / "deploy" / "models.yaml").dirty
    (upstream / "deploy" / "new.txt").write_text("untracked\n")
    assert str(gitinfo.revision(upstream / "deploy" / "models.yaml")).endswith("-dirty")


def test_revision_outside_git_is_none(tmp_path):
    (tmp_path / "models.yaml").write_text("v: 1\n")
    assert gitinfo.revision(tmp_path / "models.yaml") is None


def test_changed_since_full_clone_uses_merge_base(upstream):
    git(upstream, "checkout", "-q", "pr")
    assert gitinfo.changed_since("main", upstream / "deploy" / "models.yaml") == ["deploy/models.yaml"]
    assert gitinfo.changed_since("main", upstream) == ["README", "deploy/models.yaml"]
    # main moves on after the branch point: its change is not the PR's
    git(upstream, "checkout", "-q", "main")
    (upstream / "deploy" / "other.yaml").write_text("x\n")
    commit_all(upstream, "c4 on main")
    git(upstream, "checkout", "-q", "pr")
    assert gitinfo.changed_since("main", upstream / "deploy") == ["deploy/models.yaml"]


def test_shallow_clone_fetches_base_on_demand(upstream, tmp_path):
    clone = shallow_clone(upstream, tmp_path / "clone", "pr")
    assert gitinfo.revision(clone / "deploy" / "models.yaml").shallow
    assert git(clone, "rev-list", "--count", "HEAD") == "1"
    # main is not in the clone; it is fetched at depth 1 and diffed tree to tree
    assert gitinfo.changed_since("main", clone / "deploy" / "models.yaml") == ["deploy/models.yaml"]
    assert gitinfo.read_file_at("main", clone / "deploy" / "models.yaml") == b"v: 2\n"


def test_shallow_clone_by_sha_and_worktree_changes(upstream, tmp_path):
    base_sha = git(upstream, "rev-parse", "main")
    clone = shallow_clone(upstream, tmp_path / "clone", "pr")
    (clone / "deploy" / "models" / "b.py").write_text("print('b')\n")
    changed = gitinfo.changed_since(base_sha, clone / "deploy")
    assert changed == ["deploy/models.yaml", "deploy/models/b.py"]
    assert gitinfo.changed_since(base_sha, clone / "deploy", worktree=False) == ["deploy/models.yaml"]


def test_depth_two_merge_commit_has_its_base_as_first_parent(upstream, tmp_path):
    """What actions/checkout does for a PR with fetch-depth: 2: HEAD is the merge commit."""
    git(upstream, "checkout", "-q", "-b", "merge", "main")
    git(upstream, "merge", "-q", "--no-ff", "-m", "merge pr", "pr")
    clone = shallow_clone(upstream, tmp_path / "clone", "merge")
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "--depth=2", "origin", "merge"], check=True)
    assert gitinfo.read_file_at("HEAD^1", clone / "deploy" / "models.yaml") == b"v: 2\n"
    assert gitinfo.changed_since("HEAD^1", clone / "deploy" / "models.yaml") == ["deploy/models.yaml"]


def test_missing_base_in_shallow_clone_without_remote_explains(upstream, tmp_path):
    clone = shallow_clone(upstream, tmp_path / "clone", "pr")
    git(clone, "remote", "remove", "origin")
    with pytest.raises(FatalError) as err:
        gitinfo.changed_since("main", clone)
    assert "not found" in err.value.message
    assert "shallow clone" in err.value.hint and "git fetch --depth=1 origin main" in err.value.hint


def test_checkout_tree_materialises_the_manifest_folder_at_ref(upstream, tmp_path):
    git(upstream, "checkout", "-q", "pr")
    with gitinfo.checkout_tree("main", upstream / "deploy" / "models.yaml") as base:
        assert base.read_text() == "v: 2\n"
        assert (base.parent / "models" / "a.py").read_text() == "print('a')\n"
        assert not (base.parent / "README").exists()
        kept = base.parent
    assert not kept.exists()
    first = git(upstream, "rev-list", "--max-parents=0", "HEAD")
    with gitinfo.checkout_tree(first, upstream / "deploy" / "models" / "a.py") as missing:
        assert missing is None
    assert gitinfo.read_file_at(first, upstream / "deploy" / "models" / "a.py") is None

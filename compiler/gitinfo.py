"""Everything this tool reads from git, through GitPython, and safe in a shallow CI clone.

    rev = revision("models.yaml")        # Revision(sha=..., dirty=False, shallow=True, ...)
    str(rev)                             # "3f2c...e1" or "3f2c...e1-dirty"
    changed_since("main", "models.yaml") # ["models.yaml", "models/hello/1/model.py"]
    with checkout_tree("HEAD^1", "models.yaml") as base_manifest: ...

A shallow clone (`actions/checkout` with its default `fetch-depth: 1`) has no history:
no merge base, no older commits. So a base ref that is not present is fetched on
demand with `git fetch --depth=1 origin <ref>` (possible when the remote is reachable),
and "changed since" is a tree-to-tree diff between the base commit and HEAD (plus the
working tree), which needs only those two commits. When both histories are present the
merge base is used instead, so a branch that is behind its base does not show the base's
newer changes as its own.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compiler.errors import FatalError

_SHA_CHARS = set("0123456789abcdef")


@dataclass(frozen=True)
class Revision:
    sha: str  # HEAD's full commit id
    branch: Optional[str]  # None when detached (CI checkouts usually are)
    dirty: bool  # the manifest's folder has uncommitted or untracked changes
    shallow: bool

    @property
    def short(self) -> str:
        return self.sha[:12]

    def __str__(self) -> str:
        return self.sha + ("-dirty" if self.dirty else "")

    def as_dict(self) -> dict:
        return {"sha": self.sha, "branch": self.branch, "dirty": self.dirty, "shallow": self.shallow,
                "revision": str(self)}


def _git():
    try:
        import git  # noqa: PLC0415 - GitPython ~95 ms: only what reads git history
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FatalError("GitPython is not installed", "pip install gitpython") from exc
    return git


def open_repo(path="."):
    """The git repository containing `path`, or None when there is none (or no git binary)."""
    git = _git()
    start = Path(path).resolve()
    if not start.is_dir():
        start = start.parent
    try:
        return git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    except git.GitCommandNotFound:
        return None


def _require_repo(path):
    repo = open_repo(path)
    if repo is None:
        raise FatalError(f"{path}: not inside a git repository",
                         "run from a clone of the repository (git clone, or actions/checkout in CI)")
    return repo


def is_shallow(repo) -> bool:
    return Path(repo.git_dir, "shallow").exists()


def _relative(repo, path) -> str:
    """`path` as a POSIX path relative to the work tree root ('' for the root itself)."""
    root = Path(repo.working_tree_dir).resolve()
    full = Path(path).resolve()
    try:
        rel = full.relative_to(root).as_posix()
    except ValueError:
        raise FatalError(f"{path} is outside the git work tree {root}") from None
    return "" if rel == "." else rel


def revision(path=".") -> Optional[Revision]:
    """HEAD's commit and whether `path`'s folder has local changes; None outside git or before a commit."""
    repo = open_repo(path)
    if repo is None:
        return None
    try:
        sha = repo.head.commit.hexsha
    except ValueError:  # no commit yet
        return None
    target = Path(path)
    folder = target if target.is_dir() else target.parent
    rel = _relative(repo, folder)
    dirty = repo.is_dirty(untracked_files=True, path=rel or None)
    branch = None if repo.head.is_detached else repo.active_branch.name
    return Revision(sha, branch, bool(dirty), is_shallow(repo))


def resolve(repo, ref: str, fetch: bool = True):
    """The commit `ref` names; in a clone that lacks it, fetched from origin at depth 1 first."""
    git = _git()
    try:
        return repo.commit(ref)
    except (git.BadName, git.BadObject, ValueError):
        pass
    if fetch and repo.remotes and _fetchable(ref):
        remote = "origin" if "origin" in [r.name for r in repo.remotes] else repo.remotes[0].name
        refspec = ref
        if not _looks_like_sha(ref) and not ref.startswith("refs/"):
            refspec = f"+refs/heads/{ref}:refs/remotes/{remote}/{ref}"
        try:
            repo.git.fetch("--no-tags", "--depth=1", remote, refspec)
        except git.GitCommandError:
            pass
        else:
            for candidate in (ref, f"{remote}/{ref}", "FETCH_HEAD"):
                try:
                    return repo.commit(candidate)
                except (git.BadName, git.BadObject, ValueError):
                    continue
    hint = f"fetch it first: git fetch --depth=1 origin {ref}"
    if is_shallow(repo):
        hint = f"this is a shallow clone; {hint} (or check out with fetch-depth: 2 for a PR's merge commit)"
    raise FatalError(f"git: base ref {ref!r} not found", hint)


def default_branch(repo) -> Optional[str]:
    """The remote's default branch (`origin/HEAD`, else asked of the remote), None if unknown."""
    git = _git()
    if not repo.remotes:
        return None
    remote = "origin" if "origin" in [r.name for r in repo.remotes] else repo.remotes[0].name
    try:
        ref = repo.git.symbolic_ref(f"refs/remotes/{remote}/HEAD")
        return ref.rsplit(f"refs/remotes/{remote}/", 1)[-1] or None
    except git.GitCommandError:
        pass
    try:
        listing = repo.git.ls_remote("--symref", remote, "HEAD")
    except git.GitCommandError:
        return None
    for line in listing.splitlines():
        if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
            return line[len("ref: refs/heads/"):-len("\tHEAD")] or None
    return None


def _looks_like_sha(ref: str) -> bool:
    return 7 <= len(ref) <= 40 and set(ref.lower()) <= _SHA_CHARS


def _fetchable(ref: str) -> bool:
    """Plain branch names and commit ids; not rev expressions like HEAD^1 or main~3."""
    return bool(ref) and not any(c in ref for c in "^~:@{} ") and ref != "HEAD"


def base_commit(repo, base: str, head: str = "HEAD"):
    """The commit to compare against: the merge base when history allows, else `base` itself."""
    git = _git()
    base_c = resolve(repo, base)
    head_c = repo.commit(head)
    if not is_shallow(repo):
        try:
            bases = repo.merge_base(base_c, head_c)
        except git.GitCommandError:
            bases = []
        if bases:
            return bases[0]
    return base_c


def changed_since(base: str, path=".", head: str = "HEAD", worktree: bool = True) -> list:
    """Files (POSIX, relative to the repository root) that differ between `base` and HEAD,
    limited to `path`'s folder; with `worktree`, uncommitted and untracked changes too."""
    repo = _require_repo(path)
    target = Path(path)
    folder = _relative(repo, target if target.is_dir() else target.parent)
    start = base_commit(repo, base, head)
    changed = set()
    diffs = start.diff(None) if worktree else start.diff(repo.commit(head))
    for diff in diffs:
        for name in (diff.a_path, diff.b_path):
            if name:
                changed.add(name)
    if worktree:
        changed.update(repo.untracked_files)
    if folder:
        changed = {p for p in changed if p == folder or p.startswith(folder + "/")}
    return sorted(changed)


def read_file_at(ref: str, path) -> Optional[bytes]:
    """The bytes of `path` (a work-tree path) at `ref`; None when it did not exist there."""
    repo = _require_repo(path)
    commit = resolve(repo, ref)
    rel = _relative(repo, path)
    try:
        return commit.tree[rel].data_stream.read()
    except KeyError:
        return None


@contextlib.contextmanager
def checkout_tree(ref: str, path):
    """Yield where `path` (a file or folder in the work tree) lives in a temporary copy of
    its folder as it was at `ref`, or None when the folder did not exist there.

    Only blobs under the folder are written (symlinks as links, executables kept), so a
    manifest and the sources it names relative to itself can be loaded as of `ref`.
    """
    repo = _require_repo(path)
    commit = resolve(repo, ref)
    target = Path(path)
    is_file = not target.is_dir()
    folder = _relative(repo, target.parent if is_file else target)
    tmp = Path(tempfile.mkdtemp(prefix="triton-gitops-base-"))
    try:
        try:
            tree = commit.tree[folder] if folder else commit.tree
        except KeyError:
            yield None
            return
        _write_tree(tree, tmp, folder)
        yield tmp / target.name if is_file else tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_tree(tree, dest: Path, prefix: str) -> None:
    strip = len(prefix) + 1 if prefix else 0
    for item in tree.traverse():
        if item.type != "blob":
            continue  # folders are created for their files; submodules are skipped
        out = dest / item.path[strip:]
        out.parent.mkdir(parents=True, exist_ok=True)
        data = item.data_stream.read()
        if item.mode & 0o170000 == 0o120000:  # symlink
            out.symlink_to(data.decode("utf-8", "surrogateescape"))
            continue
        out.write_bytes(data)
        if item.mode & 0o111:
            out.chmod(0o755)

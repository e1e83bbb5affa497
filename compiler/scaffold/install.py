"""What a CI runner pip-installs to get this very triton-gitops: `init`'s default `--install`.

A scaffold must work the day it is generated, so the default is something a runner can
resolve, pinned to exactly the code that wrote the scaffold:

- installed from git (pip's record of it, PEP 610 direct_url.json): that repository at that
  commit, `triton-gitops @ git+URL@COMMIT`;
- installed from a wheel or sdist at an https URL: that URL with its sha256;
- a source checkout (an editable install, or run from the folder): the checkout's remote at
  HEAD, if HEAD is committed (nothing edited) and on a branch that remote has;
- installed from a package index: `triton-gitops==VERSION`, from that index.

Anything else (a local wheel, a folder a runner cannot reach, a commit no remote has) has no
default: `init` asks for --install rather than write workflows that fail.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

DIST = "triton-gitops"
_SCP = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")  # git@github.com:owner/repo.git


def reachable_url(url: str) -> str:
    """`url` as a runner can fetch it (ssh spellings become https), or "" for a local one."""
    if url.startswith(("https://", "http://")):
        return url
    if url.startswith("ssh://"):
        rest = url[len("ssh://"):].split("@", 1)[-1]
        host, _, path = rest.partition("/")
        return f"https://{host.split(':', 1)[0]}/{path}"
    match = _SCP.match(url)
    if match and "/" not in match.group(1):
        return f"https://{match.group(1)}/{match.group(2)}"
    return ""  # file://, a path: on this machine only


def _git(folder: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def from_checkout(folder: Path) -> tuple:
    """(pip spec, "") for a git checkout a runner can install from, else ("", why not)."""
    if not _git(folder, "rev-parse", "--is-inside-work-tree"):
        return "", f"{folder} is not a git checkout"
    commit = _git(folder, "rev-parse", "HEAD")
    if _git(folder, "status", "--porcelain", "--untracked-files=no"):
        return "", f"{folder} has uncommitted changes, so no commit holds the code that runs"
    for branch in _git(folder, "branch", "-r", "--contains", commit, "--format=%(refname:short)").splitlines():
        remote = branch.split("/", 1)[0]
        url = reachable_url(_git(folder, "remote", "get-url", remote))
        if url:
            return pip_spec(f"git+{url}@{commit}"), ""
    return "", f"commit {commit[:12]} of {folder} is on no branch of a remote a runner can reach"


def from_direct_url(record: dict) -> tuple:
    """(pip spec, "") from pip's direct_url.json record, else ("", why not)."""
    url = str(record.get("url", ""))
    vcs = record.get("vcs_info") or {}
    if vcs.get("vcs") == "git" and vcs.get("commit_id"):
        reachable = reachable_url(url)
        if reachable:
            return pip_spec(f"git+{reachable}@{vcs['commit_id']}"), ""
        return "", f"installed from the git repository {url}, which a runner cannot reach"
    if "archive_info" in record and url.startswith("https://"):
        digest = (record["archive_info"].get("hashes") or {}).get("sha256")
        return pip_spec(url + (f"#sha256={digest}" if digest else "")), ""
    if record.get("dir_info") is not None and url.startswith("file://"):
        return from_checkout(Path(url[len("file://"):]))
    return "", f"installed from {url or 'an unknown place'}, which a runner cannot reach"


def pip_spec(url: str) -> str:
    return shlex.quote(f"{DIST} @ {url}")


def default_install() -> tuple:
    """(pip arguments for CI, "") for the triton-gitops running now, else ("", why none)."""
    from importlib import metadata  # noqa: PLC0415 - importlib.metadata ~26 ms: init without --install only

    package = Path(__file__).resolve().parents[2]
    try:
        dist = metadata.distribution(DIST)
    except metadata.PackageNotFoundError:
        return from_checkout(package)  # run from a source folder, not installed
    installed = Path(str(dist.locate_file("compiler"))).resolve()
    if installed != (package / "compiler").resolve():
        return from_checkout(package)  # an editable install or PYTHONPATH: this code is the checkout's
    raw = dist.read_text("direct_url.json")
    if raw is None:
        return f"{DIST}=={dist.version}", ""  # from a package index, which the runner can use too
    try:
        record = json.loads(raw)
    except ValueError:
        return "", "pip's record of where it was installed from is unreadable"
    return from_direct_url(record if isinstance(record, dict) else {})

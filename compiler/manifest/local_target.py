"""Where a local target the manifest names may be: inside the repository the manifest is in.

A reviewer reads `targets: {local: {url: ../elsewhere}}` as a folder name, not as "write
next to the deploy scripts". So a manifest's local target must resolve, links followed, inside
the manifest's git work tree, or its folder when it is not in git, and must not hold the
manifest itself (a model named like one of the repository's own folders would then be written
among its files). A folder or URL given on the command line (`--target /path`) is the user's own
choice and is not checked (compiler/sync/boundary.py).

One rule, checked twice: when the manifest is built (`build_manifest` reports each local target
that leaves, located at its `url`, so `validate` and every command that loads the manifest say
so), and once more by `plan`/`sync` on the folder they resolved, right before using it.

The URL is checked as the run would use it: its `${VAR}`s expanded, then `~`. A variable is
expanded only if the storage policy allows it (compiler/storage/env.py, policy.py), as in a
remote URL: `url: build/${GITHUB_TOKEN}` would otherwise put a secret in a folder's name, which
a workflow may list, upload as an artifact or commit. A variable the policy does not allow, or
one that is not set (and has no default), is reported as `plan` reports it, since the run
refuses such a target; a value never appears in a message (the URL is shown as written, and the
real folder only when no variable went into it). `resolve` is that one rule, for every command.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from compiler.errors import FatalError, Problem, printable
from compiler.manifest.sources import source_boundary
from compiler.storage import policy as storage_policy
from compiler.storage.env import ENV_REF, TO_A_FOLDER, expanded, refused
from compiler.storage.urls import is_local_url, local_part, scheme_of

if TYPE_CHECKING:  # for annotations only
    from compiler.storage.policy import Policy

RULE = "target-outside"
HINT = ("keep a manifest's local target inside its repository (e.g. build/model_repository); "
        "to sync to a folder elsewhere, name it on the command line: --target /path/to/folder")


def local_path(url: str, base: Path) -> Path:
    """The folder a local URL (its variables expanded) names: `~` and `~user` expanded, a
    relative path taken from `base`. FatalError when `~user` names no user on this machine; its
    message does not quote the URL, which may hold a variable's value (callers show it as written)."""
    path = local_part(url)
    if path.startswith("~"):
        home = os.path.expanduser(path)
        if home.startswith("~"):  # os.path leaves an unknown ~user as it is; pathlib would raise
            raise FatalError("its ~user is no user of this machine, so it names no home folder",
                             "write the folder's path without ~user")
        path = home
    found = Path(path)
    return found if found.is_absolute() else base / found


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def folder_problem(written: str, folder: str, manifest_path, doc_path: tuple, values=None) -> Optional[Problem]:
    """The problem (located at `doc_path`'s `url`) when `folder`, the absolute path a manifest's
    local target written `written` names, leaves the manifest's repository or holds the manifest
    itself; None when it may be used. `values`: {variable: value} expanded into it (not shown)."""
    manifest = Path(os.path.abspath(manifest_path))
    git = source_boundary(manifest.parent)
    boundary = str(git) if git is not None else str(manifest.parent.resolve())
    where = "its git work tree" if git is not None else "the manifest's folder"
    real = os.path.realpath(folder)
    if not _inside(real, boundary):
        why = f"is outside {where} {boundary}"
    elif _inside(os.path.realpath(manifest), real):
        why = "holds the manifest itself; the model repository must be a folder of its own"
    else:
        return None
    # The real folder helps (a link on the way, `..`), unless a variable's value went into it:
    # values are not printed, and putting `${VAR}` back for each cannot be trusted once the
    # path was normalized or followed through links.
    shown = "" if values else f" ({real})"
    return Problem(f"local folder {printable(written)!r}{shown} {why}", RULE, doc_path + ("url",), hint=HINT)


def resolve(url: str, manifest_path, policy: Policy, doc_path: tuple = (), environ=None) -> tuple:
    """(folder or None, {variable: value} used, problems) of a manifest's local target URL as the
    run resolves it: the folder relative to the working directory when `manifest_path` is (as
    compile shows it), else absolute. `policy`: the run's storage policy, which names the
    variables that may be expanded. The problems: a variable the policy does not allow (none is
    expanded then), one that is not set, a value that changes the scheme, a `~user` of no user."""
    where = doc_path + ("url",)
    problems = refused(url, where, policy, "target-env", why=TO_A_FOLDER)
    if problems:
        return None, {}, problems
    text, used = expanded(url, where, problems, policy, "target-env", environ)
    for problem in problems:
        # plan's own words for it (compiler/sync/target.py: _raise_env), since the run refuses it
        problem.message = f"refers to {problem.message[:-len(' is not set')]}, which is not set"
    if problems:
        return None, used, problems
    if scheme_of(text) != scheme_of(url):
        # `url: ${DEPLOY_URL}` set to s3://... would otherwise be read as a folder `s3:` in the
        # repository: the kind of target (and so where credentials go) is the manifest's to say.
        return None, used, [Problem(f"local folder {printable(url)!r}: a variable's value changes the URL's scheme",
                                    "target-env", where,
                                    hint="write the scheme in the manifest itself (e.g. s3://${BUCKET}/models "
                                         "or build/${FOLDER}); a variable may only fill in a part of the path")]
    try:
        return local_path(text, Path(manifest_path).parent), used, []
    except FatalError as exc:
        return None, used, [Problem(f"local folder {printable(url)!r}: {exc.message}", "target-home",
                                    where, hint=exc.hint)]


def target_problems(spec, manifest_path, policy: Policy, environ=None) -> list:
    """Everything wrong with where the manifest's local target `spec` (a TargetSpec) points."""
    folder, used, problems = resolve(spec.url, manifest_path, policy, spec.doc_path, environ)
    if folder is None:
        return problems
    problem = folder_problem(spec.url, folder, manifest_path, spec.doc_path, used)
    return [problem] if problem is not None else []


def fingerprint(url: str, manifest_path, policy: Policy) -> str:
    """What a check of the local target `url` depends on besides the manifest and the
    repository's place: the real folder it names now (the policy's variables, `~` and links
    resolved), or why there is none (a variable the policy does not allow, one not set). A kept
    answer (compiler/fastpath/verdict.py, compiler/compile/build_record.py) is replayed only while
    each of its local targets still gives the same: allowing or refusing a variable changes it."""
    folder, _, problems = resolve(url, Path(manifest_path).resolve(), policy)  # as build_manifest is given it
    found = "\0".join(p.message for p in problems) if folder is None else os.path.realpath(folder)
    # hashed: the folder may hold a variable's value, and the answer is kept in a file
    return hashlib.sha256(found.encode("utf-8", "surrogatepass")).hexdigest()


def fingerprints(targets, manifest_path, policy: Policy) -> list:
    """[[URL as written, fingerprint]] of the local ones of `targets` (TargetSpecs): what a kept
    answer about the manifest (validate's verdict, compile's build record) keeps, for `unchanged`."""
    return [[spec.url, fingerprint(spec.url, manifest_path, policy)] for spec in targets if is_local_url(spec.url)]


def unchanged(kept, manifest_path, policy: Callable[[], Policy]) -> bool:
    """Whether each local target of a kept `fingerprints` list still names the folder it was
    checked as; False for anything else (an older or damaged entry: computed again). `policy()`:
    the run's storage policy, asked for only when a URL names a variable (compile's up-to-date
    answer loads it only when it must: TRITON_GITOPS_POLICY=git:... runs `git show`); without
    one, the policy has no say in where the folder is."""
    if not isinstance(kept, list):
        return False
    for item in kept:
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(part, str) for part in item)):
            return False
        if fingerprint(item[0], manifest_path, policy_for([item[0]], policy)) != item[1]:
            return False
    return True


def policy_for(urls, policy: Callable[[], Policy]) -> Policy:
    """The policy to resolve local target `urls` under: the run's, `policy()`, only when one of
    them names a variable (loading it may run `git show`, TRITON_GITOPS_POLICY=git:...; compile's
    up-to-date answer must stay fast); without a variable the policy has no say in the folder."""
    return policy() if any(ENV_REF.search(url) for url in urls) else storage_policy.DEFAULT

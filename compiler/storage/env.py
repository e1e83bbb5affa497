"""`${VAR}` and `${VAR:-default}` in manifest strings: expanded only where the policy allows.

A manifest is written by whoever opens a pull request, and the runner's environment holds
the deploy credentials, so a reference is expanded only for a variable the storage policy
(compiler/storage/policy.py) names: in a remote URL and in storage options, where the value
would reach a storage host, and in a local target's path too (compiler/manifest/local_target.py),
where it would become a folder's name that a workflow may list, upload as an artifact or commit.
Only a path the user gives on the command line (`--target /path`) expands every variable: it is
theirs, not the pull request's. The one expansion routine for sources and targets alike: each
unset or refused reference becomes a located `Problem`; callers that must stop raise the first one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re

from compiler.errors import Problem
from compiler.storage.urls import is_local_url

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
HOW_TO_ALLOW = ("if the value is meant for this storage, allow the variable outside the pull request: "
                "TRITON_GITOPS_ALLOWED_ENV={name} in the workflow, or allowed_env in the policy file "
                "(docs/security.md)")
# Why a reference is refused: where its value would otherwise go.
TO_A_HOST = "a pull request could otherwise send the runner's environment to a storage host"
TO_A_FOLDER = ("a pull request could otherwise write the runner's environment into a folder's name, which a "
               "workflow may list, upload or commit")


def references(value) -> list:
    """[(variable name, document sub-path)] of every `${VAR}` in `value` (dicts and lists too)."""
    found: list = []

    def walk(item, where):
        if isinstance(item, dict):
            for key, child in item.items():
                walk(child, where + (key,))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                walk(child, where + (index,))
        elif isinstance(item, str):
            found.extend((match.group(1), where) for match in ENV_REF.finditer(item))
    walk(value, ())
    return found


def refused(value, doc_path: tuple, policy, rule: str, what: str = "", why: str = TO_A_HOST) -> list:
    """A Problem for each reference to a variable the policy does not allow; `why`: where its
    value would otherwise go."""
    problems = []
    for name, where in references(value):
        if not policy.allows_env(name):
            problems.append(Problem(
                f"{what}${{{name}}} is not allowed by the storage policy, so it is not expanded: {why}",
                rule, doc_path + where, hint=HOW_TO_ALLOW.format(name=name)))
    return problems


def expand(value, doc_path: tuple, problems: list, policy=None, rule: str = "storage-env", environ=None):
    """`value` with every reference expanded; a problem per unset (no default) or refused one.
    `policy` None: every variable may be expanded (only for a path given on the command line)."""
    return expanded(value, doc_path, problems, policy, rule, environ)[0]


def expanded(value, doc_path: tuple, problems: list, policy=None, rule: str = "storage-env", environ=None):
    """(expanded value, {name: value} of the variables used): the values let messages put the
    reference back where a value would otherwise be printed (sync.target.Target.scrub)."""
    environ = os.environ if environ is None else environ
    used: dict = {}

    def walk(item, where):
        if isinstance(item, dict):
            return {k: walk(v, where + (k,)) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, where + (i,)) for i, v in enumerate(item)]
        if not isinstance(item, str):
            return item

        def replace(match):
            name, default = match.group(1), match.group(2)
            if policy is not None and not policy.allows_env(name):
                problems.extend(refused(match.group(0), doc_path + where, policy, rule))
                return ""
            found = environ.get(name)
            if found is None or (found == "" and default is not None):
                if default is not None:
                    return default
                problems.append(Problem(f"${{{name}}} is not set", rule, doc_path + where,
                                        hint=f"export {name}=... or write ${{{name}:-default}}"))
                return ""
            used[name] = found
            return found
        return ENV_REF.sub(replace, item)
    return walk(value, ()), used


def target_variables(targets) -> list | None:
    """The variables the remote ones of `targets` name (URL and storage options), sorted; None
    when none is remote. A remote target is checked against the storage policy with the allowed
    variables expanded: only then does a check's answer depend on their values (where a local
    target's variables put it, and whether the policy allows them, is its fingerprint's business:
    compiler/manifest/local_target.py)."""
    remote = [t for t in targets if not is_local_url(t.url)]
    if not remote:
        return None
    return sorted({name for t in remote for name, _ in references([t.url, t.storage_options])})


def variables_digest(policy, names: list) -> str:
    """What a remote target's check reads besides the manifest: the policy (its endpoints,
    variables and the endpoints the environment names) and the values of the variables used.
    Kept by compile's build record and validate's kept answer, and compared before replaying."""
    seen = (repr(policy), [(name, os.environ.get(name)) for name in names])
    return hashlib.sha256(json.dumps(seen).encode("utf-8", "surrogatepass")).hexdigest()

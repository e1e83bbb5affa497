"""Version folders and the version policy (Triton's VersionsToLoad): the policy must select at
least one version that exists; a `specific` version without a folder is a warning while others
load. Version 0 is a version like any other: Triton 2.51 loads a folder named 0 (tests/judge)."""
from __future__ import annotations

from compiler.rules.base import error, model_name, warning


def _as_int(version):
    if isinstance(version, bool):
        return None
    if isinstance(version, int):
        return version
    if isinstance(version, str) and version.isdigit() and (version == "0" or not version.startswith("0")):
        return int(version)
    return None


def versions_to_load(config, available) -> set:
    """The versions Triton loads of a model with `config` whose version folders are `available`:
    its version_policy (default: the latest one) applied to the folders that are numbers."""
    numbers = {n for n in (_as_int(v) for v in available) if n is not None and n >= 0}
    policy = config.version_policy
    which = policy.WhichOneof("policy_choice") if config.HasField("version_policy") else None
    if which == "all":
        return numbers
    if which == "specific":
        return numbers & set(policy.specific.versions)
    count = policy.latest.num_versions if which == "latest" else 1
    return set(sorted(numbers, reverse=True)[:max(count, 0)])


def check(config, ctx) -> list:
    out = []
    name = model_name(config, ctx)
    nothing = f"at least one version must be available under the version policy of model '{name}'"
    versions = None
    if ctx.versions is not None:
        versions = set()
        for v in sorted(ctx.versions, key=str):
            number = _as_int(v)
            if number is None or number < 0:
                out.append(error("version-number", f"version {v!r} is not a version number (0, 1, 2, ...)", (),
                                 hint="version folders are named 1, 2, 3, ... without leading zeros; Triton ignores "
                                      "other folder names"))
            else:
                versions.add(number)
    policy = config.version_policy
    which = policy.WhichOneof("policy_choice") if config.HasField("version_policy") else None
    if which == "latest":
        if policy.latest.num_versions < 1:
            out.append(error("version-policy-empty",
                             f"version_policy latest selects no version (num_versions is 0); {nothing}",
                             ("version_policy", "latest", "num_versions"),
                             hint="set num_versions to 1 or more"))
            return out
    elif which == "specific":
        if not policy.specific.versions:
            out.append(error("version-policy-empty", f"version_policy specific lists no version; {nothing}",
                             ("version_policy", "specific", "versions"), hint="list the versions to serve"))
            return out
        if versions is not None:
            missing = [(j, v) for j, v in enumerate(policy.specific.versions) if v not in versions]
            some_load = len(missing) < len(policy.specific.versions)
            for j, v in missing:  # Triton loads the versions that exist (tests/judge): a warning then
                out.append((warning if some_load else error)("version-missing",
                                 f"version {v} is specified for model '{name}', but the version directory is not "
                                 "present", ("version_policy", "specific", "versions", j),
                                 hint=f"existing versions: {', '.join(map(str, sorted(versions))) or 'none'}"))
            if len(missing) == len(policy.specific.versions):
                out.append(error("version-policy-empty", nothing, ("version_policy", "specific"),
                                 hint="the policy names only versions that do not exist"))
            return out
    if versions is not None and not versions:
        out.append(error("version-none", f"the model has no version folder; {nothing}", (),
                         hint="add a numbered folder (1/) holding the model file"
                              + ("; an ensemble needs an empty one" if config.platform == "ensemble" else "")))
    return out

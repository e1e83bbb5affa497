"""Every third-party action the templates use, pinned by full commit SHA (never a tag).

The tag in the comment is for people and for Dependabot/Renovate, which update both. How
each SHA was checked is recorded in the commit that changed it; `tests/gitops` asserts
that every `uses:` in `.github/`, `action.yml` and the scaffold is one of these.
"""
from __future__ import annotations

# name -> (action, commit SHA, tag that commit carries)
ACTIONS = {
    "checkout": ("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "setup-python": ("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"),
    "aws": ("aws-actions/configure-aws-credentials", "b47578312673ae6fa5b5096b330d9fbac3d116df", "v4.2.1"),
    "gcp": ("google-github-actions/auth", "6fc4af4b145ae7821d527454aa9bd537d1f2dc5f", "v2.1.7"),
    "azure": ("azure/login", "a457da9ea143d694b1b9c7c869ebb04ebe844ef5", "v2.3.0"),
}


def pin(name: str) -> str:
    """`actions/checkout@<sha> # v4.2.2`, ready for a `uses:` line."""
    action, sha, tag = ACTIONS[name]
    return f"{action}@{sha} # {tag}"

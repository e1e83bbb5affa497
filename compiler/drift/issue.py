"""The one drift issue: created on the first drift, its body replaced while drift lasts,
closed with a short comment once every target is back in sync.

It is found among the open issues by two things: its body starts with the marker, AND it was
opened by the workflow's own bot account (`github-actions[bot]`, type Bot: a login no user can
take; with a GitHub App token, `<app-slug>[bot]`). Anyone can open an issue whose body
starts with the marker; such an issue is never edited, closed or trusted to say anything.
This is how the PR workflow picks its own comment (templates/init/.github/workflows/
triton-gitops-plan.yml.j2).
"""
from __future__ import annotations

from dataclasses import dataclass

from compiler.drift.report import MARKER

DEFAULT_AUTHOR = "github-actions[bot]"
CREATED, UPDATED, CLOSED, NONE = "created", "updated", "closed", "none"


@dataclass
class Outcome:
    action: str  # created | updated | closed | none
    number: int | None = None
    url: str = ""

    def as_dict(self) -> dict:
        return {"action": self.action, "number": self.number, "url": self.url}


def is_ours(issue: dict, author: str) -> bool:
    user = issue.get("user") or {}
    body = issue.get("body") or ""
    bot = author.endswith("[bot]")
    return (user.get("login") == author and (user.get("type") == "Bot") == bot
            and body.startswith(MARKER) and "pull_request" not in issue)


def find(api, author: str) -> dict | None:
    """The open drift issue this workflow opened (the oldest, should there be two)."""
    issues = api.pages("issues", {"state": "open", "per_page": 100, "sort": "created", "direction": "asc"})
    return next((i for i in issues if isinstance(i, dict) and is_ours(i, author)), None)


def keep(api, drifted: bool, title: str, body: str, closing: str, author: str = DEFAULT_AUTHOR) -> Outcome:
    """Bring the issue in line with the report: open with `body` when `drifted` (or something could
    not be checked), else closed with the `closing` comment."""
    issue = find(api, author)
    if drifted:
        if issue is None:
            made, _ = api.request("POST", "issues", {"title": title, "body": body})
            return Outcome(CREATED, made.get("number"), made.get("html_url", ""))
        api.request("PATCH", f"issues/{int(issue['number'])}", {"title": title, "body": body})
        return Outcome(UPDATED, issue["number"], issue.get("html_url", ""))
    if issue is None:
        return Outcome(NONE)
    number = int(issue["number"])
    api.request("POST", f"issues/{number}/comments", {"body": closing})
    # The body keeps the last drift it reported: the comment says it is over.
    api.request("PATCH", f"issues/{number}", {"state": "closed", "state_reason": "completed"})
    return Outcome(CLOSED, number, issue.get("html_url", ""))

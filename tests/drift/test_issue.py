"""The one drift issue against the loopback GitHub API: only an issue the workflow's bot opened
with the marker is ever edited or closed; the token never leaves the API's host."""
from __future__ import annotations

import pytest

from compiler.drift import issue
from compiler.drift.github import Api
from compiler.drift.report import MARKER
from compiler.errors import FatalError
from tests.support.github_api import BOT, GitHubApi

REPO = "acme/models"
BODY = f"{MARKER}\nreport"


def api_for(server: GitHubApi, token: str | None = None) -> Api:
    return Api.from_environment({"GITHUB_API_URL": server.url, "GITHUB_REPOSITORY": REPO,
                                 "GITHUB_TOKEN": token or server.BOT_TOKEN})


def keep(server, drifted: bool, body: str = BODY):
    return issue.keep(api_for(server), drifted, "title", body, "closing")


def test_issues_others_opened_with_the_marker_are_never_touched():
    with GitHubApi(REPO, page_size=2) as server:
        planted = [
            server.plant(1, f"{MARKER}\nall clear, nothing drifted", {"login": "mallory", "type": "User"}),
            server.plant(2, f"{MARKER}\nanother bot", {"login": "renovate[bot]", "type": "Bot"}),
            server.plant(3, f"{MARKER}\nspoofed type", {"login": "github-actions[bot]", "type": "User"}),
            server.plant(4, f"{MARKER}\na pull request", BOT, pull_request={"url": "x"}),
            server.plant(5, f"see {MARKER} below", BOT),  # the marker not at the start
        ]
        snapshot = [dict(i) for i in planted]
        made = keep(server, True)
        assert (made.action, made.number) == (issue.CREATED, 6)
        assert (keep(server, True, BODY + " 2").action, server.state["issues"][5]["body"]) == (issue.UPDATED,
                                                                                              BODY + " 2")
        closed = keep(server, False)
        assert (closed.action, closed.number) == (issue.CLOSED, 6)
        assert server.state["issues"][:5] == snapshot  # none of them edited, closed or commented on
        assert [c["issue"] for c in server.state["comments"]] == [6]
        # every page was read (two issues a page): ours was on the third
        pages = [r["query"].get("page", ["1"])[0] for r in server.requests if r["method"] == "GET"]
        assert pages[:3] == ["1", "2", "3"]
        assert keep(server, False).action == issue.NONE  # closed stays closed; nothing to do


def test_the_token_never_follows_a_pagination_link_to_another_host():
    with GitHubApi(REPO, page_size=1) as server, GitHubApi(REPO) as elsewhere:
        server.plant(1, "a", {"login": "u", "type": "User"})
        server.plant(2, "b", {"login": "u", "type": "User"})
        server.next_link = f"{elsewhere.url.replace('127.0.0.1', 'localhost')}/repos/{REPO}/issues?page=2"
        with pytest.raises(FatalError, match="refusing to send the token"):
            keep(server, True)
        assert elsewhere.requests == [] and server.writes() == []


def test_api_failures_and_settings_are_clear_errors():
    with GitHubApi(REPO) as server:
        with pytest.raises(FatalError, match=r"HTTP 401 \(Bad credentials\)") as caught:
            issue.keep(api_for(server, "ghs_wrong"), True, "t", BODY, "c")
        assert "issues: write" in caught.value.hint
    for env, expected in [
        ({"GITHUB_REPOSITORY": REPO}, r"\$GITHUB_TOKEN not set"),
        ({"GITHUB_TOKEN": "t"}, r"\$GITHUB_REPOSITORY not set"),
        ({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": "a/b/c"}, "is not OWNER/NAME"),
        ({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": "http://api.example.invalid"},
         "only over https"),
    ]:
        with pytest.raises(FatalError, match=expected):
            Api.from_environment(env)
    assert Api.from_environment({"GITHUB_TOKEN": "t", "GITHUB_REPOSITORY": REPO}).base == "https://api.github.com"

"""The GitHub REST API, as a workflow step reaches it: GITHUB_API_URL, GITHUB_REPOSITORY and a
token (GITHUB_TOKEN) from the environment. Only the few issue calls drift needs.

The token goes only to the API's own origin: a `Link: <...>; rel="next"` pointing anywhere
else is refused, and a plain-http API URL is accepted only on a loopback address (tests).
"""
from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode, urlsplit

from compiler.errors import FatalError, clip

DEFAULT_API = "https://api.github.com"
MAX_PAGES = 50  # 5,000 open issues: beyond that, refuse rather than miss our issue and open another
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


@dataclass
class Api:
    base: str  # https://api.github.com, or the GHES /api/v3 URL
    repository: str  # owner/name
    token: str
    timeout: float = 30.0

    @classmethod
    def from_environment(cls, environ=None) -> Api:
        env = os.environ if environ is None else environ
        base = (env.get("GITHUB_API_URL") or DEFAULT_API).rstrip("/")
        repository = env.get("GITHUB_REPOSITORY", "")
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
        missing = [name for name, value in (("GITHUB_REPOSITORY", repository), ("GITHUB_TOKEN", token)) if not value]
        if missing:
            raise FatalError(f"${' and $'.join(missing)} not set: the drift issue cannot be kept",
                             "in a workflow pass `GITHUB_TOKEN: ${{ github.token }}` (issues: write); "
                             "elsewhere use --no-issue to print the report only")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise FatalError(f"$GITHUB_REPOSITORY {repository!r} is not OWNER/NAME")
        parts = urlsplit(base)
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise FatalError(f"$GITHUB_API_URL {base!r}: the token is sent only over https",
                             "leave it unset for github.com; GitHub Enterprise: https://HOST/api/v3")
        return cls(base, repository, token)

    def _origin(self, url: str) -> tuple:
        parts = urlsplit(url)
        return parts.scheme, parts.netloc

    def request(self, method: str, path: str, body=None, query=None) -> tuple:
        """(parsed JSON, the next page's URL or None). `path` is relative to the repository
        (`issues`, `issues/3/comments`) or an absolute URL of the API's own origin."""
        url = path if "://" in path else f"{self.base}/repos/{self.repository}/{path}"
        if query:
            url += "?" + urlencode(query)
        if self._origin(url) != self._origin(self.base):
            raise FatalError(f"GitHub API: refusing to send the token to {clip(url, 200)!r}",
                             "a pagination link left the API's host")
        data = json.dumps(body).encode("utf-8") if body is not None else None
        # The URL is the checked API base (https, or http on loopback) or a next page on its own origin.
        request = urllib.request.Request(url, data=data, method=method, headers={  # noqa: S310
            "Accept": "application/vnd.github+json", "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "triton-gitops-drift",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - as above
                payload = response.read()
                link = response.headers.get("Link", "")
        except urllib.error.HTTPError as exc:
            raise FatalError(f"GitHub API {method} {path}: HTTP {exc.code} {_said(exc)}",
                             "the workflow's job needs `permissions: issues: write`" if exc.code in (401, 403, 404)
                             else "") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FatalError(f"GitHub API {method} {path}: not reachable ({reason})") from None
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            raise FatalError(f"GitHub API {method} {path}: the answer is not JSON") from None
        found = _NEXT.search(link)
        return parsed, found.group(1) if found else None

    def pages(self, path: str, query: dict) -> list:
        """Every item of a paginated list."""
        items: list = []
        url = path
        params: Optional[dict] = dict(query)
        for _ in range(MAX_PAGES):
            page, url = self.request("GET", url, query=params)
            params = None  # the next link carries them
            items += page if isinstance(page, list) else []
            if not url:
                return items
        raise FatalError(f"GitHub API GET {path}: more than {MAX_PAGES} pages",
                         "too many open issues to be sure there is no drift issue already")


def _said(exc) -> str:
    try:
        message = json.loads(exc.read()).get("message", "")
    except Exception:  # noqa: BLE001 - GitHub's message is a courtesy
        message = ""
    return f"({clip(str(message), 300)})" if message else ""

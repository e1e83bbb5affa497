"""A loopback HTTP server playing the few GitHub REST API calls `triton-gitops drift` makes, and
recording every request (method, path, query, JSON body, Authorization header).

Issues live in `state["issues"]`, comments in `state["comments"]`. Each token maps to the
account GitHub would show as the author ({"login", "type"}); a workflow's GITHUB_TOKEN is
github-actions[bot] of type Bot. An unknown token gets 401, as GitHub answers. Listings are
paged (`page_size`, a `Link: rel="next"` header), and like GitHub's the issues listing
includes pull requests (with a "pull_request" key).

    with GitHubApi("acme/models") as api:
        env = {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": "acme/models", "GITHUB_TOKEN": api.BOT_TOKEN}
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOT = {"login": "github-actions[bot]", "type": "Bot"}


class GitHubApi:
    BOT_TOKEN = "ghs_workflow_token"

    def __init__(self, repository: str, page_size: int = 100):
        self.repository, self.page_size = repository, page_size
        self.tokens = {self.BOT_TOKEN: BOT}
        self.state = {"issues": [], "comments": []}
        self.requests: list = []
        self.next_link = None  # a URL to put in the first page's Link header instead of the real one
        self.lock = threading.Lock()
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def plant(self, number: int, body: str, user: dict, state: str = "open", **extra) -> dict:
        issue = {"number": number, "title": f"issue {number}", "body": body, "user": dict(user), "state": state,
                 "html_url": f"https://github.example/{self.repository}/issues/{number}", **extra}
        self.state["issues"].append(issue)
        return issue

    def writes(self) -> list:
        return [(r["method"], r["path"]) for r in self.requests if r["method"] != "GET"]

    def __enter__(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, payload, headers=None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                body = json.loads(raw) if raw else None
                with api.lock:
                    api.requests.append({"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                                         "body": body, "authorization": self.headers.get("Authorization", "")})
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    user = api.tokens.get(token)
                    if user is None:
                        return self._answer(401, {"message": "Bad credentials"})
                    return self._route(parts, body, user)

            def _route(self, parts, body, user):
                prefix = f"/repos/{api.repository}/issues"
                path = parts.path
                issues = api.state["issues"]
                if path == prefix and self.command == "GET":
                    query = parse_qs(parts.query)
                    wanted = query.get("state", ["open"])[0]
                    found = [i for i in issues if wanted == "all" or i["state"] == wanted]
                    page = int(query.get("page", ["1"])[0])
                    size = min(int(query.get("per_page", ["30"])[0]), api.page_size)
                    chunk = found[(page - 1) * size: page * size]
                    headers = {}
                    if page * size < len(found):
                        nxt = api.next_link if (page == 1 and api.next_link) else \
                            f"{api.url}{prefix}?state={wanted}&per_page={size}&page={page + 1}"
                        headers["Link"] = f'<{nxt}>; rel="next"'
                    return self._answer(200, chunk, headers)
                if path == prefix and self.command == "POST":
                    number = max([i["number"] for i in issues] + [0]) + 1
                    issue = {"number": number, "title": body["title"], "body": body["body"], "user": dict(user),
                             "state": "open",
                             "html_url": f"https://github.example/{api.repository}/issues/{number}"}
                    issues.append(issue)
                    return self._answer(201, issue)
                match = re.fullmatch(re.escape(prefix) + r"/(\d+)(/comments)?", path)
                issue = next((i for i in issues if match and i["number"] == int(match.group(1))), None)
                if issue is None:
                    return self._answer(404, {"message": "Not Found"})
                if match.group(2) and self.command == "POST":
                    comment = {"id": 1000 + len(api.state["comments"]), "issue": issue["number"],
                               "body": body["body"], "user": dict(user)}
                    api.state["comments"].append(comment)
                    return self._answer(201, comment)
                if not match.group(2) and self.command == "PATCH":
                    issue.update({k: v for k, v in body.items() if k in ("title", "body", "state", "state_reason")})
                    return self._answer(200, issue)
                return self._answer(405, {"message": "unsupported in this stand-in"})

            do_GET = do_POST = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

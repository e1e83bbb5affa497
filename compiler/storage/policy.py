"""The storage policy: which endpoints and environment variables a manifest may use.

It lives where a pull request cannot change it: in the environment the workflow sets
(`TRITON_GITOPS_ALLOWED_ENDPOINTS`, `TRITON_GITOPS_ALLOWED_ENV`) and/or in a policy file
named by `TRITON_GITOPS_POLICY`, either a path or `git:REF:PATH` (read with `git show` from,
say, the base branch, so that the pull request's own copy does not count):

    allowed_endpoints: [https://minio.internal:9000, 127.0.0.1:4566]
    allowed_env: [MODELS_BUCKET, S3_ENDPOINT, TEAM_*]

Each cloud's own endpoints (https only) are always allowed, as are the endpoints the
environment itself names (AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST, the BlobEndpoint of
AZURE_STORAGE_CONNECTION_STRING): the workflow set them, not the pull request.

A command loads the policy once, at its start (`load`, called by
`compiler.artifacts.settings.Settings.for_run`), and hands it down inside its Settings: the
manifest's checks, the artifacts stage and the sync's target all see that one value, and
nothing here is cached between runs (tests run many commands, with other environments, in one
process).
"""
from __future__ import annotations

import fnmatch
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from compiler.errors import FatalError
from compiler.storage.urls import host_port

ENDPOINTS_ENV = "TRITON_GITOPS_ALLOWED_ENDPOINTS"
NAMES_ENV = "TRITON_GITOPS_ALLOWED_ENV"
FILE_ENV = "TRITON_GITOPS_POLICY"

# Each cloud's own endpoints (suffixes of the host), reached over https only.
CLOUD_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".googleapis.com", ".blob.core.windows.net",
               ".dfs.core.windows.net", ".blob.core.usgovcloudapi.net", ".dfs.core.usgovcloudapi.net",
               ".blob.core.chinacloudapi.cn", ".dfs.core.chinacloudapi.cn")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # "" = any
    host: str
    port: Optional[int] = None  # None = any

    def matches(self, scheme: str, host: str, port) -> bool:
        port = port or _DEFAULT_PORTS.get(scheme)
        return host == self.host and (not self.scheme or self.scheme == scheme) and \
            (self.port is None or self.port == port)


def parse_endpoint(text: str) -> Endpoint:
    given_scheme = "://" in text
    scheme, host, port = host_port(text)
    if not host:
        raise ValueError(text)
    return Endpoint(scheme if given_scheme else "", host, port)


@dataclass(frozen=True)
class Policy:
    endpoints: tuple = ()  # Endpoint, allowed beside the clouds' own
    env: tuple = ()  # variable names or fnmatch patterns (`TEAM_*`)
    origin: str = "the default policy"  # where it came from, for messages
    trusted: tuple = field(default=(), compare=False)  # endpoints the environment names

    def allows_env(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.env)

    def allows_endpoint(self, url: str) -> bool:
        scheme, host, port = host_port(url)
        if not host:
            return False
        if scheme == "https" and any(host.endswith(suffix) or host == suffix[1:] for suffix in CLOUD_HOSTS):
            return True
        return any(e.matches(scheme, host, port) for e in (*self.endpoints, *self.trusted))


def _split(text: str) -> list:
    return [item for item in text.replace(",", " ").split() if item]


def _environment_endpoints(environ) -> list:
    """Endpoints the runner's environment names: set by the workflow, so trusted."""
    found = [environ.get(name, "") for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "STORAGE_EMULATOR_HOST",
                                                 "CLOUD_STORAGE_EMULATOR_ENDPOINT")]
    for part in environ.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";"):
        if part.lower().startswith("blobendpoint="):
            found.append(part.split("=", 1)[1])
    out = []
    for text in found:
        try:
            out.append(parse_endpoint(text))
        except ValueError:
            continue
    return out


def _read_file(spec: str) -> tuple:
    """(data, label) of the policy file `spec`: a path, or git:REF:PATH."""
    if spec.startswith("git:"):
        ref, _, path = spec[len("git:"):].partition(":")
        try:
            text = subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True, text=True, check=True,
                                  timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise FatalError(f"{FILE_ENV}={spec}: cannot read {path} at {ref} ({type(exc).__name__})",
                             "fetch the base branch first (actions/checkout with fetch-depth: 0), or fix the path")
    else:
        try:
            text = Path(spec).read_text(encoding="utf-8")
        except OSError as exc:
            raise FatalError(f"{FILE_ENV}={spec}: cannot read the policy file ({exc.strerror})")

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise FatalError(f"{FILE_ENV}={spec}: not YAML ({str(exc).splitlines()[0]})")
    if not isinstance(data, dict) or set(data) - {"allowed_endpoints", "allowed_env"}:
        raise FatalError(f"{FILE_ENV}={spec}: a policy file is a mapping with allowed_endpoints and allowed_env",
                         "see docs/security.md")
    return data, spec


def load(environ=None) -> Policy:
    """The policy of this run, from the environment (and the file it names)."""
    environ = os.environ if environ is None else environ
    endpoints, names, origins = _split(environ.get(ENDPOINTS_ENV, "")), _split(environ.get(NAMES_ENV, "")), []
    if environ.get(ENDPOINTS_ENV) or environ.get(NAMES_ENV):
        origins.append(f"{ENDPOINTS_ENV}/{NAMES_ENV}")
    if environ.get(FILE_ENV):
        data, label = _read_file(environ[FILE_ENV])
        endpoints += [str(e) for e in data.get("allowed_endpoints") or []]
        names += [str(n) for n in data.get("allowed_env") or []]
        origins.append(label)
    parsed = []
    for text in endpoints:
        try:
            parsed.append(parse_endpoint(text))
        except ValueError:
            raise FatalError(f"storage policy: {text!r} is not an endpoint", "write host, host:port or scheme://host:port")
    return Policy(tuple(parsed), tuple(names), " and ".join(origins) or "the default policy",
                  tuple(_environment_endpoints(environ)))


# What a Settings built without an environment holds (tests, benchmarks): the clouds' own
# endpoints and no variable. Forgetting to pass the run's policy is thus stricter, never looser.
DEFAULT = Policy()

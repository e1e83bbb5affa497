"""When the prefetch helper may read an S3 target without the SDK, and where its requests go.

Only in the plain case, where what botocore would do is certain: static credentials (the
target's storage options `key`/`secret`/`token`, else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
and AWS_SESSION_TOKEN, botocore's first choice), an endpoint the options or the environment
name (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL) reached path-style, or AWS's own endpoint for a
known region of the standard partition reached virtual-hosted, as botocore addresses them.
Anything else answers None and the SDK reads the target as before: another option (anon,
requester_pays, profile, config_kwargs, use_ssl, ...), a variable of the AWS family this
module does not know (profiles, FIPS or dual-stack endpoints, credential expiry, ...), a
proxy, a shared config file with more than a region in its default profile, a bucket name
or an endpoint URL out of the ordinary, AWS's endpoint without a region (botocore would
follow S3's redirect to the bucket's region).

The endpoint is thus the one the SDK would contact; the manifest's targets had it checked
against the storage policy when resolved (compiler/sync/target.py), as for the SDK.
"""
from __future__ import annotations

import configparser
import os
import re
from typing import NamedTuple, Optional
from urllib.parse import urlsplit

from compiler.fastpath.sigv4 import Credentials, uri_encode
from compiler.sync.target import explicit_endpoint

# What may be set without changing where botocore sends a request or what it signs it with.
_KNOWN_ENV = frozenset({
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
    "AWS_REGION",  # read by other SDKs and the CLI; botocore ignores it
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_PAGER", "AWS_DEFAULT_OUTPUT",
})
_PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
_OPTIONS = frozenset({"key", "secret", "token", "endpoint_url", "client_kwargs"})
_CLIENT_OPTIONS = frozenset({"endpoint_url", "region_name"})
_CONFIG_KEYS = frozenset({"region", "output"})
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_VIRTUAL_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_AWS_REGION = re.compile(r"^(?:us|eu|ap|ca|sa|me|af|il|mx)-(?:north|south|east|west|central|northeast|southeast|"
                         r"northwest|southwest)-\d{1,2}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Route(NamedTuple):
    scheme: str  # http or https
    host: str  # where to connect (and, with the port when not the default, the Host header)
    port: int
    base: str  # the path before the key: "/BUCKET" path-style, "" virtual-hosted
    bucket: str
    key: str  # the target's folder in the bucket, "" at its top
    region: str  # signed for
    credentials: Credentials
    cafile: str  # https: the CA bundle botocore would verify with

    @property
    def host_header(self) -> str:
        return self.host if self.port == _DEFAULT_PORTS[self.scheme] else f"{self.host}:{self.port}"

    @property
    def root(self) -> str:
        """The target's root as s3fs names it: BUCKET/KEY."""
        return f"{self.bucket}/{self.key}" if self.key else self.bucket

    def object_path(self, key: str) -> str:
        """The request path of the object `key` of the bucket, encoded as it is signed."""
        return f"{self.base}/{uri_encode(key, keep_slash=True)}"

    def __repr__(self) -> str:  # the credentials never
        return f"Route({self.scheme}://{self.host_header}{self.base}, key={self.key!r}, region={self.region!r})"


def environment_allows(environ=None) -> bool:
    """Nothing in the environment itself rules the plain path out (checked before the target is
    known, to decide whether the helper imports the SDK at once)."""
    environ = os.environ if environ is None else environ
    if any(environ.get(name) for name in _PROXY_ENV):
        return False
    if any(name.startswith("AWS_") and name not in _KNOWN_ENV for name in environ):
        return False
    return _config_region(environ) is not None


def route(target, environ=None) -> Optional[Route]:
    """Where to send the plain path's requests for `target`, or None: the SDK reads it."""
    environ = os.environ if environ is None else environ
    if not environment_allows(environ):
        return None
    options = target.options or {}
    client = options.get("client_kwargs", {})
    if set(options) - _OPTIONS or not isinstance(client, dict) or set(client) - _CLIENT_OPTIONS:
        return None
    if not all(isinstance(value, str) and value for value in (*options.values(), *client.values())
               if not isinstance(value, dict)):
        return None
    credentials = _credentials(options, environ)
    where = _bucket_and_key(target.url)
    if credentials is None or where is None:
        return None
    bucket, key = where
    region = client.get("region_name") or environ.get("AWS_DEFAULT_REGION") or _config_region(environ) or ""
    if len({options.get("endpoint_url"), client.get("endpoint_url")} - {None}) > 1:
        return None  # two endpoints named: s3fs would pass both
    # The one the probe checks (Target.endpoint): with only the options allowed above, the client's.
    endpoint = explicit_endpoint(target.url, options, environ)
    https = endpoint == "" or endpoint.lower().startswith("https:")
    cafile = (environ.get("AWS_CA_BUNDLE") or _certifi()) if https else ""
    if endpoint == "":  # AWS's own: virtual-hosted, as botocore addresses a plain bucket name
        if not _AWS_REGION.match(region) or not _VIRTUAL_BUCKET.match(bucket) or "--" in bucket or not cafile:
            return None
        host = f"{bucket}.s3.amazonaws.com" if region == "us-east-1" else f"{bucket}.s3.{region}.amazonaws.com"
        return Route("https", host, 443, "", bucket, key, region, credentials, cafile)
    parts = urlsplit(endpoint)
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc or ":" in parts.hostname or \
            parts.path not in ("", "/") or parts.query or parts.fragment or (scheme == "https" and not cafile):
        return None
    return Route(scheme, parts.hostname, port, f"/{bucket}", bucket, key, region or "us-east-1", credentials, cafile)


def _credentials(options: dict, environ) -> Optional[Credentials]:
    """The options' (s3fs passes them to the client), else the environment's (botocore's first
    provider); a half-given pair is left to the SDK, which explains it."""
    if "key" in options or "secret" in options or "token" in options:
        if "key" in options and "secret" in options:
            return Credentials(options["key"], options["secret"], options.get("token", ""))
        return None
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    return Credentials(key, secret, environ.get("AWS_SESSION_TOKEN") or "")


def _bucket_and_key(url: str) -> Optional[tuple]:
    """(bucket, key) of s3://BUCKET[/KEY] as s3fs splits it; None for anything less plain."""
    if not url.startswith("s3://"):
        return None
    rest = url[len("s3://"):].rstrip("/")
    if not rest or any(mark in rest for mark in ("?", "#", "//", "\\")) or rest.startswith("/"):
        return None
    bucket, _, key = rest.partition("/")
    return (bucket, key) if _BUCKET.match(bucket) and ".." not in bucket else None


def _config_region(environ) -> Optional[str]:
    """The default profile's region in the shared config file ("" if none or no file); None when
    that profile sets anything but a region and an output format, or the file is unreadable."""
    path = environ.get("AWS_CONFIG_FILE") or os.path.join(os.path.expanduser("~"), ".aws", "config")
    if not os.path.exists(path):
        return ""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    if not parser.has_section("default"):
        return ""
    section = dict(parser.items("default"))
    if set(section) - _CONFIG_KEYS:
        return None
    return section.get("region", "").strip()


def _certifi() -> str:
    """botocore's default CA bundle: certifi's ("" without it: botocore would use its own copy)."""
    try:
        import certifi  # noqa: PLC0415 - fastpath: only for an https endpoint, in the helper
    except ImportError:
        return ""
    return certifi.where()

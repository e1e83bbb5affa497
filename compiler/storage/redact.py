"""Secrets kept out of everything printed: messages, and the SDKs' debug logs.

Three kinds of secret are scrubbed: values whose option name says they are one (key, secret,
token, password, connection string, ...), the values of the environment's credential
variables (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, ACTIONS_ID_TOKEN_REQUEST_TOKEN, ...),
and what a request carries in known places (Authorization and token headers, a URL's
user:password, signature and token query parameters). `TRITON_GITOPS_DEBUG=1` turns the
SDKs' logs on, always through `DebugFilter`.
"""
from __future__ import annotations

import logging
import os
import re
import traceback

SECRET_NAME = re.compile(r"(secret|token|password|passwd|key|credential|connection_string|sas|signature|auth)", re.I)
MIN_SECRET = 4  # shorter values would scrub ordinary words
MASK = "***"
# header or field name, then its value (quoted or not), as botocore, aiohttp and azure-core log them
_HEADERS = re.compile(
    r"""(?i)((?:authorization|proxy-authorization|x-amz-security-token|x-amz-credential|x-amz-signature|"""
    r"""x-goog-[a-z-]*token|x-ms-[a-z-]*(?:token|key|signature)|cookie|set-cookie|"""
    r"""sharedaccesssignature|accountkey|sig|signature|se?token|access_token|refresh_token|client_secret|"""
    r"""aws_secret_access_key|aws_session_token|credential|secret|password)['"]?\s*[:=]\s*(?:b?['"])?)([^'"\s,;&}\]]+)""")
_BEARER = re.compile(r"(?i)\b(bearer|basic|aws4-hmac-sha256)\s+([A-Za-z0-9._~+/=:,-]{8,}(?:\s*,\s*[A-Za-z]+=[^\s,'\"]+)*)")
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s@'\"]+@")


def secrets_of(options, key: str = "") -> list:
    """Values in storage options that their key names as secret."""
    if isinstance(options, dict):
        return [s for k, v in options.items() for s in secrets_of(v, str(k))]
    if isinstance(options, list):
        return [s for v in options for s in secrets_of(v, key)]
    if isinstance(options, str) and len(options) >= MIN_SECRET and SECRET_NAME.search(key):
        return [options]
    return []


def environment_secrets(environ=None) -> list:
    """Values of environment variables whose name says they hold a secret."""
    environ = os.environ if environ is None else environ
    return [value for name, value in environ.items()
            if len(value) >= MIN_SECRET and SECRET_NAME.search(name) and not name.startswith("TRITON_GITOPS_")]


def scrub(text: str, secrets=()) -> str:
    """`text` with every known secret value and every secret-looking field masked."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, MASK)
    text = _HEADERS.sub(lambda m: m.group(1) + MASK, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)


class DebugFilter(logging.Filter):
    """Formats each record once and scrubs it: the SDKs log headers, URLs and bodies."""

    def __init__(self, extra=()):
        super().__init__()
        self.extra = list(extra)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is shown as its template
            message = str(record.msg)
        secrets = environment_secrets() + self.extra
        record.msg, record.args = scrub(message, secrets), None
        if record.exc_info:
            record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)), secrets)
            record.exc_info = None
        return True


def debug_logging() -> bool:
    """With TRITON_GITOPS_DEBUG set: the SDKs' debug logs on stderr, scrubbed. True if on."""
    if not os.environ.get("TRITON_GITOPS_DEBUG"):
        return False
    root = logging.getLogger()
    for old in [h for h in root.handlers if any(isinstance(f, DebugFilter) for f in h.filters)]:
        root.removeHandler(old)  # an earlier run's, bound to an earlier stderr (tests run many in one process)
    handler = logging.StreamHandler()  # the current sys.stderr
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s:%(message)s"))
    handler.addFilter(DebugFilter())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return True

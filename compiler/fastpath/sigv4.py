"""AWS Signature Version 4 for the few S3 requests the prefetch helper makes without the SDK.

Written from AWS's description of the scheme (header-based authentication, service "s3"):
a canonical request (method, path, sorted query, signed headers, payload hash) is hashed
into a string to sign, which an HMAC-SHA256 chain derived from the secret (date, region,
service, "aws4_request") signs. S3 differs from other services in two points kept here:
the path is encoded once (not twice), and the payload hash is sent as a header.

A request without a body (GET, HEAD, DELETE) signs the hash of b""; a PUT signs the sha256 of
its body (`payload_hash`), which S3 checks against what it received.
Nothing here logs or raises with a credential in it.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


class Credentials(NamedTuple):
    key: str
    secret: str
    token: str = ""  # a session token, sent as x-amz-security-token

    def __repr__(self) -> str:  # never the secret, not even in a traceback's locals
        return "Credentials(***)"


def uri_encode(text: str, keep_slash: bool = False) -> str:
    """Every byte of the UTF-8 text as %XX (upper case) except A-Z a-z 0-9 - _ . ~ (and "/"
    in a path): the encoding SigV4 signs, and the one sent, so that both agree."""
    out = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED or (keep_slash and byte == 0x2F):
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def query_string(params) -> str:
    """The canonical query of (name, value) pairs: each encoded, sorted by name then value.
    Sent exactly as signed."""
    pairs = sorted((uri_encode(name), uri_encode(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in pairs)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str = "s3") -> bytes:
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(method: str, host: str, path: str, query: str, region: str, credentials: Credentials, amz_date: str,
         extra: dict | None = None, payload_hash: str = EMPTY_SHA256) -> dict:
    """The headers to send with the request (Host, x-amz-date, x-amz-content-sha256, the token,
    Authorization, and `extra`, all signed). `path`: already encoded (uri_encode with the
    slashes kept); `query`: query_string's; `amz_date`: YYYYMMDDTHHMMSSZ, UTC; `payload_hash`:
    the hex sha256 of the body."""
    headers = {"host": host, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    for name, value in (extra or {}).items():
        headers[name.lower()] = value
    names = sorted(headers)
    canonical_headers = "".join(f"{name}:{' '.join(str(headers[name]).split())}\n" for name in names)
    signed_headers = ";".join(names)
    canonical = "\n".join((method, path, query, canonical_headers, signed_headers, payload_hash))
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))
    signature = hmac.new(signing_key(credentials.secret, amz_date[:8], region), to_sign.encode("utf-8"),
                         hashlib.sha256).hexdigest()
    headers["authorization"] = (f"{ALGORITHM} Credential={credentials.key}/{scope}, "
                                f"SignedHeaders={signed_headers}, Signature={signature}")
    return headers

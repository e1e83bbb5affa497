"""Which URLs name a local file, and how any URL is shown: never with what it hides.

Also imported by the prefetch helper before anything heavier (see fastpath/prefetch.py), so it
keeps to the standard library.
"""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

# Schemes fsspec maps to this machine's disk: one rule for all of them (manifest/sources.py).
LOCAL_SCHEMES = ("file", "local")
HTTP_SCHEMES = ("http", "https")
# Remote sources the tool reads, by family. Anything else (fsspec's chained `a::b` URLs,
# caches, archives, memory, ftp, ...) is refused: each is another way to reach a file or a host.
FAMILIES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "az", "abfss": "az",
            "http": "http", "https": "http"}


def scheme_of(url: str) -> str:
    """The lowercase scheme of a URL, "" for a plain path (or a Windows drive letter)."""
    if "://" not in url:
        return ""
    scheme = url.split("://", 1)[0].lower()
    return "" if len(scheme) == 1 else scheme


def family(scheme: str) -> str:
    """s3, gs, az or http for a store the tool knows; the scheme itself otherwise."""
    return FAMILIES.get(scheme.lower(), scheme.lower())


def is_local_url(url: str) -> bool:
    """A plain path, `file://`, `local://`, or a one-letter scheme (a Windows drive, `C:/...`)."""
    return scheme_of(url) in ("", *LOCAL_SCHEMES)


def local_part(url: str) -> str:
    """The path a local URL names: `file:///x` -> `/x`, `local://x` -> `x`, a path unchanged."""
    scheme = scheme_of(url)
    return url[len(scheme) + 3:] if scheme in LOCAL_SCHEMES else url


def redact_url(url: str) -> str:
    """A URL fit to print: no user info (`***@`), no query string (SAS tokens and signatures
    live there), no fragment. Plain paths are returned as they are."""
    if not scheme_of(url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0]
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", ""))


def host_port(url: str) -> tuple:
    """(scheme, lowercase host, port or None) of an endpoint URL; a bare `host[:port]` is taken
    as http (as STORAGE_EMULATOR_HOST may be given). ("", "", None) if it names no host."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return "", "", None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port

"""Opening a store, and what a store says about an object: its stamp and its md5.

Every filesystem is opened here, and every one is bounded in time: an endpoint that answers
5xx forever would otherwise keep a run in the SDKs' own retries for minutes (botocore,
gcsfs's six tries with backoff, azure-core's ten). A metadata call (list, stat, read or
write of a small control file, copy, delete) that has not succeeded within the storage
timeout is cancelled and raises `StorageTimeout`; streamed transfers of model files are left
to the SDKs (a large file may rightly take longer).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading

from compiler.errors import Picklable
from compiler.extras import missing_extra
from compiler.storage.urls import HTTP_SCHEMES

DEFAULT_TIMEOUT = 60.0
TIMEOUT_ENV = "TRITON_GITOPS_STORAGE_TIMEOUT"
# Calls that make a few small requests: bounded. (put_file/get_file/open stream model files.)
_BOUNDED = frozenset({"find", "info", "ls", "exists", "isdir", "isfile", "cat_file", "cat", "pipe_file", "pipe",
                      "rm_file", "rm", "cp_file", "copy", "du", "walk", "mkdir", "makedirs", "call_s3"})
# Info fields that change whenever an object is rewritten, per store (size is added apart).
_VERSION_FIELDS = ("VersionId", "generation", "ETag", "etag", "LastModified", "last_modified", "updated",
                   "Last-Modified", "md5Hash", "mtime")
_MD5_HEX = re.compile(r"^[0-9a-f]{32}$")


class StorageTimeout(Picklable, TimeoutError):
    """A store did not answer successfully within the storage timeout."""

    def __init__(self, seconds: float, what: str):
        super().__init__(f"no successful answer within {seconds:g} s to {what} (the store kept failing or did not "
                         "answer)")
        self.seconds = seconds


def storage_timeout() -> float:
    """The bound from TRITON_GITOPS_STORAGE_TIMEOUT (seconds), else the default."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, "") or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


class Bounded:
    """An fsspec filesystem whose metadata calls give up after `seconds`. Everything else is
    the filesystem's own (attributes, streamed transfers)."""

    def __init__(self, fs, seconds: float):
        self._fs, self._seconds = fs, seconds

    @property
    def wrapped(self):
        return self._fs

    def within(self, what: str, call, *args, **kwargs):
        """call(*args, **kwargs), given `timeout=seconds` (fsspec's sync wrappers, fsspec.asyn.sync),
        its time-out raised as StorageTimeout(seconds, what)."""
        from fsspec.exceptions import FSTimeoutError  # noqa: PLC0415 - fsspec ~140 ms: validate and compile load this module but open no store

        kwargs.setdefault("timeout", self._seconds)
        try:
            return call(*args, **kwargs)
        except (FSTimeoutError, TimeoutError) as exc:
            if isinstance(exc, StorageTimeout):
                raise
            raise StorageTimeout(self._seconds, what) from exc

    def __getattr__(self, name):  # only for what this wrapper does not have itself
        if name in ("_fs", "_seconds"):
            raise AttributeError(name)
        value = getattr(self._fs, name)
        if name not in _BOUNDED or not getattr(self._fs, "async_impl", False) or not callable(value):
            return value

        def bounded(*args, **kwargs):
            return self.within(name, value, *args, **kwargs)
        return bounded

    def __reduce__(self):
        return (Bounded, (self._fs, self._seconds))


def open_url(url: str, options: dict, seconds: float = 0.0):
    """(filesystem, path inside it) of `url` with fsspec, bounded by `seconds` (0: the setting)."""
    import fsspec  # noqa: PLC0415 - fsspec ~140 ms: validate and compile load this module but open no store

    fs, path = fsspec.core.url_to_fs(url, **options)
    return Bounded(fs, seconds or storage_timeout()), path


class Filesystems:
    """One fsspec filesystem per (protocol, options) for a run: connections are reused, and
    listings are never served from a cache older than this run."""

    def __init__(self, seconds: float = 0.0):
        self._lock = threading.Lock()
        self._open: dict = {}
        self.seconds = seconds or storage_timeout()

    def get(self, url: str, options: dict):
        import fsspec  # noqa: PLC0415 - fsspec ~140 ms: validate and compile load this module but open no store

        protocol = fsspec.core.split_protocol(url)[0] or "file"
        key = (protocol, json.dumps(options, sort_keys=True, default=str))
        with self._lock:
            if key not in self._open:
                extra = {} if protocol in HTTP_SCHEMES else {"use_listings_cache": False}
                try:
                    fs = fsspec.filesystem(protocol, skip_instance_cache=True, **extra, **options)
                except ImportError as exc:  # a cloud SDK is an extra (pyproject.toml): say which

                    raise missing_extra(url, f"source {url.split('?', 1)[0]}", exc) or exc
                self._open[key] = Bounded(fs, self.seconds)
            fs = self._open[key]
        return fs, (url if protocol in HTTP_SCHEMES else fs._strip_protocol(url))


def speaks(fs, *protocols: str) -> bool:
    """Whether the fsspec filesystem `fs` (or a Bounded one) answers to one of `protocols`
    ("s3", "az", ...): fsspec gives one name or a tuple of them."""
    names = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return any(name in names for name in protocols)


def version_stamp(info: dict) -> str:
    """Everything the store says changes when an object is rewritten, as one string; "" if it
    says nothing (then nothing about the object is trusted). For sources: a digest recorded
    under this stamp is recalled without reading the object again."""
    values = {k: str(info[k]) for k in _VERSION_FIELDS if info.get(k) not in (None, "")}
    return json.dumps(values, sort_keys=True) if values else ""


def object_stamp(info: dict) -> str:
    """The one validator a target records per file in its state (S3/Azure ETag, GCS generation,
    or on disk inode+mtime+ctime: a rewrite renames into place, an edit changes ctime).
    Kept as it is: every state file written so far holds these."""
    for key in ("generation", "ETag", "etag"):
        if info.get(key):
            return str(info[key]).strip('"')
    return f"{info.get('ino')}:{info.get('mtime')!r}:{info.get('created')!r}"


def store_md5(info: dict) -> str:
    """The content md5 a store reports, as hex; "" if it reports none.

    S3: the ETag of a single-part upload is the md5 (a multipart one ends in "-N", and SSE-KMS
    ETags are opaque: neither matches the pattern). GCS: md5Hash, base64. Azure:
    content_settings.content_md5, bytes (set for single-shot uploads only).
    """
    if info.get("md5Hash"):
        try:
            return base64.b64decode(info["md5Hash"]).hex()
        except (binascii.Error, ValueError):
            return ""
    settings = info.get("content_settings")
    # azure-storage-blob's ContentSettings reads like a dict but is not one
    md5 = settings.get("content_md5") if settings is not None and hasattr(settings, "get") else None
    if md5:
        return bytes(md5).hex()
    etag = str(info.get("ETag") or "").strip('"').lower()
    return etag if _MD5_HEX.match(etag) else ""

"""Downloads into the cache: streamed and hashed on the way, retried, verified, then renamed.

Each file is read in CHUNK-sized pieces (one ranged GET each on an object store, one
streamed GET over HTTP), written to a temporary name in the cache and hashed as it goes,
so memory stays at a few chunks per transfer whatever the size. A dropped connection
resumes at the byte where it stopped (object stores) or starts over (HTTP), after a
jittered exponential backoff. Only a complete file whose digest matches what was expected
is renamed into the cache; anything else is deleted.
"""
from __future__ import annotations

import hashlib
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from compiler.artifacts.digest import CHUNK
from compiler.artifacts.source import display_url, stamp_of

ATTEMPTS = 5
BACKOFF = 0.25  # seconds before the first retry; doubled each time
_HTTP = ("http", "https")
# Errors no retry can fix (by class name anywhere in the chain, so no SDK import is needed).
_PERMANENT = ("FileNotFoundError", "PermissionError", "NoCredentialsError", "ClientAuthenticationError",
              "DefaultCredentialsError", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
              "NoSuchBucket", "ValueError", "TypeError", "Mismatch", "FatalError", "KeyboardInterrupt")


class Mismatch(Exception):
    """The bytes are not the ones expected: names the file and both digests."""

    def __init__(self, label: str, expected: str, actual: str):
        super().__init__(f"{label}: sha256 is {actual}, expected {expected}")
        self.label, self.expected, self.actual = label, expected, actual


class Incomplete(OSError):
    """The store ended the body early, or the object changed while it was read: try again."""


@dataclass
class _Progress:
    offset: int = 0
    hasher: object = field(default_factory=hashlib.sha256)


def _permanent(exc) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        names = {c.__name__ for c in type(exc).__mro__}
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
        if names & set(_PERMANENT) or status in (401, 403, 404) or "AccessDenied" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _stream(fs, origin, temp, progress: _Progress) -> None:
    resumable = origin.protocol not in _HTTP and progress.offset > 0
    if not resumable:
        progress.offset, progress.hasher = 0, hashlib.sha256()
    # HTTP: block_size=0 is fsspec's plain streamed GET (servers need not support Range).
    # Stores: no read-ahead cache, so each read is exactly one ranged GET of CHUNK bytes.
    options = {"block_size": 0} if origin.protocol in _HTTP else {"block_size": CHUNK, "cache_type": "none"}
    with fs.open(origin.path, "rb", **options) as source, open(temp, "r+b") as out:
        out.seek(progress.offset)
        out.truncate()
        if progress.offset:
            source.seek(progress.offset)
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            progress.hasher.update(chunk)
            progress.offset += len(chunk)
    if progress.offset != origin.size:
        raise Incomplete(f"{display_url(origin.url)}: got {progress.offset} of {origin.size} bytes")
    # The digest is recorded under the stamp seen when listing: make sure that is still the
    # object we read (s3fs also sends If-Match on each ranged GET, but only from its own HEAD).
    if origin.stamp and stamp_of(fs.info(origin.path)) != origin.stamp:
        progress.offset = 0
        raise Incomplete(f"{display_url(origin.url)} changed while it was downloaded")


def download(fs, origin, cache, expected: str = "", label: str = "", sleep=time.sleep) -> tuple:
    """(blob path, sha256) of `origin` fetched into `cache`; raises Mismatch or the store's error."""
    temp = cache.temp_file(origin.size)
    progress = _Progress()
    try:
        for attempt in range(ATTEMPTS):
            try:
                _stream(fs, origin, temp, progress)
                break
            except Exception as exc:  # noqa: BLE001 - classified: permanent ones go up at once
                if attempt == ATTEMPTS - 1 or _permanent(exc):
                    raise
                sleep(BACKOFF * (2 ** attempt) * (0.5 + random.random()))
        actual = progress.hasher.hexdigest()
        if expected and actual != expected:
            raise Mismatch(label or display_url(origin.url), expected, actual)
        return cache.commit(temp, actual), actual
    finally:
        temp.unlink(missing_ok=True)  # gone already after a commit; a failure leaves nothing


def in_parallel(function, items, workers: int) -> list:
    """[(item, result, exception)] for every item, run on up to `workers` threads.

    Threads suit this: the work is network waits and hashlib, which releases the GIL.
    """
    def call(item):
        try:
            return item, function(item), None
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, per item
            return item, None, exc

    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(call, items))

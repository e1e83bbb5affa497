"""Downloads into the cache: streamed to a temporary name, retried, verified, then renamed.

Each file is fetched with its backend's own streamed download (`get_file`: one GET whose
body is written out in small pieces; s3fs also resumes a dropped body with a Range GET),
told to use one connection per file so memory stays at a few MiB per transfer whatever the
size (parallelism comes from fetching several files at once). The sha256 is then computed
from the file as written (hot in the page cache, at hashing speed), the store is asked once
that the object did not change meanwhile, and only a complete file whose digest matches
what was expected is renamed into the cache; anything else is deleted. A failed attempt
starts over after a jittered exponential backoff.
"""
from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor

from compiler.errors import Picklable
from compiler.storage.files import sha256_file
from compiler.storage.stores import version_stamp
from compiler.storage.urls import redact_url

ATTEMPTS = 5
BACKOFF = 0.25  # seconds before the first retry; doubled each time
# One streamed connection per file (the defaults fetch parts concurrently into memory:
# s3fs 10 x 50 MiB, gcsfs up to 128 MiB of prefetch per file).
_GET_OPTIONS = {"s3": {"max_concurrency": 1}, "s3a": {"max_concurrency": 1}, "gs": {"concurrency": 1},
                "gcs": {"concurrency": 1}, "az": {"max_concurrency": 1}, "abfs": {"max_concurrency": 1},
                "abfss": {"max_concurrency": 1}}
# Errors no retry can fix (by class name anywhere in the chain, so no SDK import is needed).
_PERMANENT = ("FileNotFoundError", "PermissionError", "NoCredentialsError", "ClientAuthenticationError",
              "DefaultCredentialsError", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
              "NoSuchBucket", "ValueError", "TypeError", "Mismatch", "FatalError", "KeyboardInterrupt", "StorageTimeout")


class Mismatch(Picklable, Exception):
    """The bytes are not the ones expected: names the file and both digests."""

    def __init__(self, label: str, expected: str, actual: str):
        super().__init__(f"{label}: sha256 is {actual}, expected {expected}")
        self.label, self.expected, self.actual = label, expected, actual


class Incomplete(OSError):
    """The store ended the body early, or the object changed while it was read: try again."""


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


def _fetch_once(fs, origin, temp) -> None:
    fs.get_file(origin.path, str(temp), **_GET_OPTIONS.get(origin.protocol, {}))
    size = os.path.getsize(temp)
    if size != origin.size:
        raise Incomplete(f"{redact_url(origin.url)}: got {size} of {origin.size} bytes")
    # The digest is recorded under the stamp seen when listing: make sure that is still the
    # object that was read.
    if origin.stamp and version_stamp(fs.info(origin.path)) != origin.stamp:
        raise Incomplete(f"{redact_url(origin.url)} changed while it was downloaded")


def download(fs, origin, cache, expected: str = "", label: str = "", sleep=time.sleep) -> tuple:
    """(blob path, sha256) of `origin` fetched into `cache`; raises Mismatch or the store's error."""
    temp = cache.temp_file(origin.size)
    try:
        for attempt in range(ATTEMPTS):
            try:
                _fetch_once(fs, origin, temp)
                break
            except Exception as exc:  # classified: permanent ones go up at once
                if attempt == ATTEMPTS - 1 or _permanent(exc):
                    raise
                sleep(BACKOFF * (2 ** attempt) * (0.5 + random.random()))
        actual = sha256_file(temp)
        if expected and actual != expected:
            raise Mismatch(label or redact_url(origin.url), expected, actual)
        return cache.commit(temp, actual), actual
    finally:
        temp.unlink(missing_ok=True)  # gone already after a commit; a failure leaves nothing


def in_parallel(function, items, workers: int, inline=None) -> list:
    """[(item, result, exception)] for every item, run on up to `workers` threads.

    Threads suit this: the work is network waits and hashlib, which releases the GIL. Items
    for which `inline(item)` is true (cheap local work) run on the calling thread first:
    for thousands of small files a pool costs more than the work.
    """
    def call(item):
        try:
            return item, function(item), None
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, per item
            return item, None, exc

    here: list = []
    pooled: list = []
    for item in items:  # `inline` asked once per item: for a local file it is a stat and a lookup
        (here if inline is not None and inline(item) else pooled).append(item)
    results = [call(item) for item in here]
    if len(pooled) <= 1 or workers <= 1:
        return results + [call(item) for item in pooled]
    pool = ThreadPoolExecutor(max_workers=min(workers, len(pooled)))
    try:
        results += list(pool.map(call, pooled))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: start no further download
        raise
    pool.shutdown()
    return results

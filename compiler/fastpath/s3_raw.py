"""The prefetch helper reading an S3 target over the standard library: no SDK for a no-op.

A Python process that imports s3fs (aiobotocore, aiohttp, botocore), makes a client and lists
a bucket once already takes about as long as `rclone sync` takes for the whole no-op
(docs/benchmarks.md, Sync). A sync that finds nothing to do needs two GETs, the state
object and the ListObjectsV2 pages; this module makes exactly those over http.client
(s3_http.py: signed with SigV4, within the storage timeout, no redirect followed), when
s3_route.py says where botocore would send them and with which static credentials. The pages are read by s3_listing.py's parser, the listing
sorted by compiler/sync/listing.py: what the helper hands back is what the SDK path answers
(tests/fastpath/test_s3_raw.py compares the two on moto).

It only ever answers what it is sure of. Any other answer of the store (an error code, a
redirect, which it never follows, a page it does not recognise, a dropped connection) makes
it give up (None), and the helper reads the target through the SDK as before: the same
retries, the same explained errors. Two outcomes are its own, because the SDK path would
meet them the same way: an endpoint the probe cannot reach (the same probe, the same error)
and no answer within the target's storage timeout (StorageTimeout, as the SDK path's bound).
"""
from __future__ import annotations

import http.client
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional
from urllib.parse import unquote_plus

from compiler.fastpath.s3_http import SignedRequests, error_code
from compiler.fastpath.s3_listing import listing_prefix, page_objects, xml_text
from compiler.fastpath.s3_route import Route, route
from compiler.storage.stores import StorageTimeout, storage_timeout
from compiler.sync.listing import listing_of, missing_bucket
from compiler.sync.state import STATE_NAME
from compiler.sync.storage_failures import explain
from compiler.sync.target import probe

_TRUNCATED = re.compile(rb"<IsTruncated>\s*true\s*</IsTruncated>")
_TOKEN = re.compile(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>")
_URL_ENCODED = re.compile(rb"<EncodingType>\s*url\s*</EncodingType>")


class Unsupported(Exception):
    """An answer left to the SDK path (which retries and explains it)."""


class _NoBucket(Exception):
    """The listing's answer: NoSuchBucket."""


def read_target(target, environ=None) -> Optional[tuple]:
    """(state bytes or None, Listing), as compiler.sync.read.read_target answers for `target`, or
    None when the plain path does not apply or met an answer it leaves to the SDK. Raises the
    probe's FatalError for an unreachable endpoint and StorageTimeout past the storage timeout."""
    where = route(target, environ)
    if where is None:
        return None
    probe(target)  # as read_target: a dead endpoint the user named fails in a second, explained
    client = _Client(where, target.timeout or storage_timeout())
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-state") as pool:
            state = pool.submit(client.state)  # both requests in flight at once, as read_target
            found = client.objects()
            raw = state.result()
        if not found and where.key and client.exists(where.key):
            return None  # the root is an object itself: s3fs's find lists it, and the SDK says what that means
    except Unsupported:
        return None
    except _NoBucket:  # what the SDK path concludes too (list_target), in fewer requests
        raise explain(missing_bucket(where.bucket), target, "list the repository") from None
    finally:
        client.close()
    return raw, listing_of(found, where.root, local=False)


class _Client:
    """The reader's GET and HEAD requests to one route (s3_http.py), all within one deadline."""

    def __init__(self, where: Route, seconds: float):
        self.where = where
        self.deadline = time.monotonic() + seconds
        self._http = SignedRequests(where, seconds)

    def close(self) -> None:
        self._http.close()

    def state(self) -> Optional[bytes]:
        status, body = self._request("GET", self.where.object_path(self._key(STATE_NAME)))
        if status == 200:
            return body
        if status == 404 and error_code(body) in ("NoSuchKey", "NoSuchBucket"):
            return None  # as s3fs's FileNotFoundError for both, which read_control takes for "no state"
        raise Unsupported

    def exists(self, key: str) -> bool:
        status, _ = self._request("HEAD", self.where.object_path(key))
        if status == 404:
            return False
        if status == 200:
            return True
        raise Unsupported

    def objects(self) -> dict:
        """{BUCKET/KEY: info} of every object under the route's folder, in the store's order."""
        def page(params) -> bytes:
            status, body = self._request("GET", self.where.base or "/", params)
            if status == 404 and error_code(body) == "NoSuchBucket":
                raise _NoBucket
            if status != 200:
                raise Unsupported
            return body

        bucket = self.where.bucket
        return {f"{bucket}/{key}": {"Key": key, "Size": size, "ETag": etag, "type": "file", "size": size}
                for key, etag, size in listed(page, self.where.key, lambda why: Unsupported(why))}

    def _key(self, name: str) -> str:
        return f"{self.where.key}/{name}" if self.where.key else name

    def _request(self, method: str, path: str, params=()) -> tuple:
        """(status, body); a connection that fails is left to the SDK (no retry here)."""
        try:
            answer = self._http.request(method, path, self.deadline, "read the target", params)
        except StorageTimeout:
            raise
        except (OSError, http.client.HTTPException) as exc:
            raise Unsupported from exc
        return answer.status, answer.body


def listed(page, key: str, odd):
    """(key, ETag, size) of every object under the folder `key`, page by page of ListObjectsV2
    (the plain reader's and the plain writer's one loop). `page(params)`: a page's body, or
    raises for an answer that is not one; `odd(why)`: the exception for a 200 that is not a
    listing, or a truncated one without a continuation token."""
    params = [("list-type", "2"), ("prefix", listing_prefix(key)), ("encoding-type", "url")]
    cursor: list = []
    while True:
        body = page(params + cursor)
        objects = page_objects(body)
        if objects is None:
            raise odd("not a listing")
        decode = _URL_ENCODED.search(body) is not None  # as botocore decodes a listing it asked encoded
        for name, etag, size in objects:
            yield (unquote_plus(name) if decode else name), etag, size
        if not _TRUNCATED.search(body):
            return
        token = _TOKEN.search(body)
        if token is None:
            raise odd("a truncated listing without a continuation token")
        cursor = [("continuation-token", xml_text(token.group(1)))]

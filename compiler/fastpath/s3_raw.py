"""The prefetch helper reading an S3 target over the standard library: no SDK for a no-op.

A Python process that imports s3fs (aiobotocore, aiohttp, botocore), makes a client and lists
a bucket once already takes about as long as `rclone sync` takes for the whole no-op
(docs/benchmarks.md, Sync). A sync that finds nothing to do needs two GETs, the state
object and the ListObjectsV2 pages; this module makes exactly those over http.client
(s3_http.py: signed with SigV4, within the storage timeout, no redirect followed), when
s3_route.py says where botocore would send them and with which static credentials. The pages are read by s3_listing.py's parser, the listing
sorted by compiler/sync/listing.py: what the helper hands back is what the SDK path answers
(tests/fastpath/test_s3_raw.py compares the two on moto).

A long listing is read in key ranges at once (`_ranged`): ListObjectsV2 pages follow one
another (each names the next), so 30,000 keys are 31 round trips in a row, 1.5-6 s of latency
on S3 alone (docs/benchmarks.md). When the first page is not the last and the state (asked for
at the same time) lists at least RANGED_FROM files, keys taken from it at even intervals split
the rest of the key space: each range starts after its lower bound (start-after) and stops
at the first key past its upper one, every key in exactly one range whatever it is (ours,
foreign, equal to a bound); the bounds only balance the work. A range that fails fails the
whole read, as the single loop would: never a partial listing.

It only ever answers what it is sure of. Any other answer of the store (an error code, a
redirect, which it never follows, a page it does not recognise, a dropped connection) makes
it give up (None), and the helper reads the target through the SDK as before: the same
retries, the same explained errors. Two outcomes are its own, because the SDK path would
meet them the same way: an endpoint the probe cannot reach (the same probe, the same error)
and no answer within the target's storage timeout (StorageTimeout, as the SDK path's bound).
"""
from __future__ import annotations

import http.client
import json
import re
import threading
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
# A file's path in the state (control_files.State.to_bytes: indent=1, the files two deep).
_STATE_PATH = re.compile(rb'\n  "((?:[^"\\\n]|\\.)*)": \{')
RANGED_FROM = 2000  # files in the state from which a listing longer than a page is read in ranges
RANGES = 8  # at most: one connection each
_PAGE = 1000  # keys in a page of ListObjectsV2 (S3's most and default)


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
            found = client.objects(state.result)
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

    def objects(self, state=None) -> dict:
        """{BUCKET/KEY: info} of every object under the route's folder, in the store's order.
        `state()`: the state's bytes (or None), whose paths split a long listing (`_ranged`)."""
        bucket = self.where.bucket
        pages = listed_pages(self._page, self.where.key, _odd)
        first, more = next(pages)
        seen = first[-1][0] if first else ""
        bounds = split_points(state(), listing_prefix(self.where.key), seen) if more and state is not None else []
        found = first + (_ranged(pages, seen, self._page, self.where.key, bounds) if bounds else
                         [item for objects, _ in pages for item in objects])
        return {f"{bucket}/{key}": {"Key": key, "Size": size, "ETag": etag, "type": "file", "size": size}
                for key, etag, size in found}

    def _page(self, params) -> bytes:
        status, body = self._request("GET", self.where.base or "/", params)
        if status == 404 and error_code(body) == "NoSuchBucket":
            raise _NoBucket
        if status != 200:
            raise Unsupported
        return body

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


def _odd(why: str) -> Exception:
    return Unsupported(why)


def listed(page, key: str, odd):
    """(key, ETag, size) of every object under the folder `key`, page by page of ListObjectsV2
    (the plain reader's and the plain writer's one loop). `page(params)`: a page's body, or
    raises for an answer that is not one; `odd(why)`: the exception for a 200 that is not a
    listing, or a truncated one without a continuation token."""
    for objects, _ in listed_pages(page, key, odd):
        yield from objects


def listed_pages(page, key: str, odd, after: Optional[str] = None):
    """([(key, ETag, size)] of a page, whether more follow), page by page, as `listed`; from the
    first key after `after` (start-after) if given. The next page is asked for only once the
    previous one is used."""
    params = [("list-type", "2"), ("prefix", listing_prefix(key)), ("encoding-type", "url")]
    cursor: list = [("start-after", after)] if after is not None else []
    while True:
        body = page(params + cursor)
        objects = page_objects(body)
        if objects is None:
            raise odd("not a listing")
        decode = _URL_ENCODED.search(body) is not None  # as botocore decodes a listing it asked encoded
        more = _TRUNCATED.search(body) is not None
        yield [((unquote_plus(name) if decode else name), etag, size) for name, etag, size in objects], more
        if not more:
            return
        token = _TOKEN.search(body)
        if token is None:
            raise odd("a truncated listing without a continuation token")
        # The token alone: it says where the listing goes on (S3 ignores start-after beside it).
        cursor = [("continuation-token", xml_text(token.group(1)))]


def split_points(raw: Optional[bytes], prefix: str, seen: str) -> list:
    """Keys splitting a listing in up to RANGES ranges (of about a page or more each): paths of the state `raw` at even
    intervals (with `prefix`), in S3's order (UTF-8 bytes), past the last key `seen` already;
    none when the state lists fewer than RANGED_FROM files (or is none, or not ours to read)."""
    paths = _STATE_PATH.findall(raw) if raw else []
    if len(paths) < RANGED_FROM:
        return []
    ranges = min(RANGES, len(paths) // _PAGE)  # a page's worth of keys each, or about
    points = set()
    for index in range(1, ranges):
        try:
            path = json.loads(b'"' + paths[len(paths) * index // ranges] + b'"')
        except ValueError:
            continue  # a split point is only a hint: one fewer range
        points.add((prefix + path).encode("utf-8", "surrogatepass"))
    after = seen.encode("utf-8", "surrogatepass")
    return [point.decode("utf-8", "surrogatepass") for point in sorted(points) if point > after]


def _ranged(first, seen: str, page, key: str, bounds: list) -> list:
    """The rest of a listing: `first` (its pages, going on after the key `seen`) up to bounds[0],
    then each range (bounds[i-1], bounds[i]], the last one to the end, read at once on their own
    connections and joined in order. Any range's failure is the whole listing's: the others
    stop. So is a key out of S3's order (UTF-8 bytes), which the bounds rely on: a store that
    sorts otherwise would have its ranges overlap or leave gaps."""
    failed = threading.Event()

    def upto(pages, low: str, bound: Optional[str]) -> list:
        last = low.encode("utf-8", "surrogatepass")
        limit = bound.encode("utf-8", "surrogatepass") if bound is not None else None
        found: list = []
        for objects, _ in pages:
            for item in objects:
                name = item[0].encode("utf-8", "surrogatepass")
                if name <= last:  # not in S3's order (UTF-8 bytes), which the bounds assume
                    raise Unsupported("a listing out of order")
                if limit is not None and name > limit:
                    return found  # past the range: the next one lists it (no more pages here)
                found.append(item)
                last = name
            if failed.is_set():
                raise Unsupported("another range failed")
        return found

    def after(index: int) -> list:
        try:
            return upto(listed_pages(page, key, _odd, after=bounds[index]), bounds[index],
                        bounds[index + 1] if index + 1 < len(bounds) else None)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=len(bounds), thread_name_prefix="triton-gitops-range") as pool:
        rest = [pool.submit(after, index) for index in range(len(bounds))]
        try:
            found = upto(first, seen, bounds[0])
        except BaseException:
            failed.set()
            raise
        for future in rest:
            found += future.result()  # raises the first failed range's error, in key order
    return found

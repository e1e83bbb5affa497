"""The prefetch helper writing a small S3 plan without the SDK: the filesystem calls of a sync.

A one-file edit costs nine requests (docs/sync-internals.md); before this module, the helper
that read the target over http.client (s3_raw.py) still imported s3fs, aiobotocore, aiohttp
and botocore to make the seven that write (~0.4 s of CPU: more than the requests). `PlainS3`
offers exactly the filesystem methods the write path calls (compiler/sync/apply.py,
transfer.py for one-request uploads, pinning.py, target_lock.py, state.py, listing.py,
engine.py), so the very same applier, lock and verification run over it unchanged:

| method | request | as s3fs |
|---|---|---|
| `cat_file(path, start=0)` | GET | the bytes; FileNotFoundError on 404 |
| `pipe_file(path, data)` | PUT, Content-MD5, the body's sha256 signed | the reply, {"ETag": ...} |
| `pipe_file(path, data, mode="create")` | PUT, If-None-Match: * | FileExistsError on 412 |
| `rm_file(path)` | DELETE | |
| `info(path)` | HEAD | size, ETag; FileNotFoundError on 404 |
| `find(root, detail=True)`, `exists(path)` | ListObjectsV2 pages, HEAD | as s3_raw.py reads them |
| `open(path, "rb")` | GET, streamed | (a dropped file hashed to prove it ours) |

Used only where the plain reader is (s3_route.py: static credentials, an endpoint botocore's
choice is certain of; the SDK is then not imported at all), and only for a plan it can carry
out whole (`carries`: uploads of one request, deletes; no multipart upload, no server-side
copy): decided before the first write, never switched in the middle of one (engine.write
asks again, before writing, when it made the plan again under the lock).

Its requests are the plain reader's (s3_http.py: signed, a connection per thread). Each call
is bounded like the SDK's (compiler.storage.stores.Bounded): retried on a dropped
connection, 5xx and throttling, as botocore does (up to ATTEMPTS), within the storage timeout,
past which it raises StorageTimeout. Its failures carry the store's status and error code,
which compiler/sync/storage_failures.py classifies and explains as it does botocore's. A
redirect is never followed (http.client does not): it fails, explained, and nothing is sent
anywhere else. Nothing here puts a credential in a message.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import random
import re
import time
from typing import Optional

from compiler.fastpath.s3_http import SignedRequests, error_code
from compiler.fastpath.s3_listing import xml_text
from compiler.fastpath.s3_raw import listed
from compiler.fastpath.s3_route import Route, route
from compiler.storage.stores import StorageTimeout, storage_timeout
from compiler.sync.plan import DELETE
from compiler.sync.storage_failures import VerifyError
from compiler.sync.transfer import STREAM_LIMIT, UPLOAD

ATTEMPTS = 5  # botocore's default (legacy mode): the first try and four more
_BASE = 0.1  # seconds; the n-th retry waits up to _BASE * 2**n, jittered (botocore: rand * 2**n)
_MESSAGE_LIMIT = 200  # characters of the store's <Message> kept in an error


class StoreError(OSError):
    """An answer of the store that is not a success: its status and error code, as botocore's
    ClientError carries them (storage_failures.classify reads both)."""

    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(f"{code or 'HTTP ' + str(status)} ({status}){': ' + message if message else ''}")
        self.status, self.code_name, self.detail = status, code, message

    def __reduce__(self):  # across the helper's pipe (handover.py) as it left
        return (StoreError, (self.status, self.code_name, self.detail))


def carries(plan) -> bool:
    """Can PlainS3 carry out `plan` whole? Uploads of one request (up to transfer.STREAM_LIMIT,
    or generated files) and deletes: yes; a multipart upload or a server-side copy: the SDK."""
    for change in plan.active:
        if change.action == DELETE:
            continue
        want = change.want
        if want is None or change.method not in ("", UPLOAD):
            return False
        if want.entry.data is None and (want.entry.source is None or want.size > STREAM_LIMIT):
            return False  # big, or a remote version file fetched to its cache copy first: as before
    return True


def provide(target, plan, environ=None) -> bool:
    """Open `target` on PlainS3 when its route allows and it can carry out `plan`; True if so.
    Otherwise the target opens its SDK when first used, as before."""
    if target.opened:
        return False  # read through the SDK (s3_raw.py left it the target): it writes too
    where = route(target, environ)
    if where is None or not carries(plan):
        return False
    target.provide(PlainS3(where, target.timeout or storage_timeout()), where.root, carries)
    return True


class PlainS3:
    """The filesystem methods a sync calls on an S3 target (see the module's table), over
    http.client: one kept-alive connection per thread (the applier's pool, the lock's refresh)."""

    protocol = ("s3", "s3a")
    async_impl = False

    def __init__(self, where: Route, seconds: float):
        self.where, self.seconds = where, seconds
        self._http = SignedRequests(where, seconds)

    def __repr__(self) -> str:
        return f"PlainS3({self.where!r})"

    # -- the filesystem methods -----------------------------------------------------------------
    def cat_file(self, path: str, start=None, end=None) -> bytes:
        if start not in (None, 0) or end is not None:
            raise NotImplementedError("cat_file: whole objects only")
        status, _, body = self._call("cat_file", "GET", self._object(path))
        if status == 200:
            return body
        raise self._failure(status, body, path)

    def pipe_file(self, path: str, data: bytes, mode: str = "overwrite", **kwargs) -> dict:
        if kwargs or mode not in ("overwrite", "create"):
            raise NotImplementedError(f"pipe_file: {mode}, {sorted(kwargs)}")
        data = bytes(data)
        headers = {"content-md5": base64.b64encode(hashlib.md5(data).digest()).decode("ascii"),
                   "content-type": "application/octet-stream"}
        if mode == "create":
            headers["if-none-match"] = "*"
        status, answer, body = self._call("pipe_file", "PUT", self._object(path), body=data, headers=headers)
        if status == 200:
            etag = answer.get("etag")
            return {"ETag": etag} if etag else {}
        if mode == "create" and status == 412:
            raise FileExistsError(path)
        if status == 400 and error_code(body) == "BadDigest":  # the body was damaged on the way: send it again
            raise VerifyError(f"{path}: the store received other bytes than were sent (BadDigest)")
        raise self._failure(status, body, path)

    def rm_file(self, path: str) -> None:
        status, _, body = self._call("rm_file", "DELETE", self._object(path))
        if status not in (200, 204):
            raise self._failure(status, body, path)

    def info(self, path: str) -> dict:
        status, answer, body = self._call("info", "HEAD", self._object(path))
        if status != 200:
            raise self._failure(status, body, path)
        try:
            size = int(answer.get("content-length", ""))
        except ValueError:
            raise StoreError(status, "UnexpectedAnswer", "no Content-Length in the answer") from None
        return {"name": path, "type": "file", "size": size, "ETag": answer.get("etag", ""),
                "LastModified": answer.get("last-modified", "")}

    def exists(self, path: str) -> bool:
        _, key = self._split(path)
        status, _, body = self._call("exists", "HEAD", self._object(path) if key else self.where.base or "/")
        if status in (200, 404):
            return status == 200
        raise self._failure(status, body, path)

    def invalidate_cache(self, path=None) -> None:
        """Nothing is cached here: every answer is the store's."""

    def find(self, path: str, detail: bool = False, withdirs: bool = False, **kwargs):
        """{BUCKET/KEY: info} of every object under the folder `path`, as s3fs's find(detail=True)
        answers it (without the folders); FileNotFoundError for a missing bucket."""
        if not detail or withdirs or kwargs:
            raise NotImplementedError("find: detail=True, withdirs=False only")
        bucket, key = self._split(path)

        def page(params) -> bytes:
            status, _, body = self._call("find", "GET", self.where.base or "/", params)
            if status != 200:
                raise self._failure(status, body, path)
            return body

        return {f"{bucket}/{name}": {"name": f"{bucket}/{name}", "Key": name, "Size": size, "ETag": etag,
                                     "type": "file", "size": size}
                for name, etag, size in listed(page, key, lambda why: StoreError(200, "UnexpectedAnswer", why))}

    def open(self, path: str, mode: str = "rb", **kwargs):
        """A streamed read (engine._remote_sha256 hashes a dropped file to prove it ours)."""
        if mode != "rb" or kwargs:
            raise NotImplementedError(f"open: {mode}")
        return _Download(self, path)

    # -- requests -------------------------------------------------------------------------------
    def _split(self, path: str) -> tuple:
        bucket, _, key = path.strip("/").partition("/")
        if bucket != self.where.bucket:
            raise ValueError(f"{bucket!r}: not this target's bucket")
        return bucket, key

    def _object(self, path: str) -> str:
        _, key = self._split(path)
        return self.where.object_path(key)

    def _failure(self, status: int, body: bytes, path: str) -> Exception:
        """What s3fs raises for the same answer: FileNotFoundError for a missing key (or bucket),
        else the status and the store's error code, classified like botocore's."""
        code = error_code(body)
        if status == 404:
            return FileNotFoundError(f"{code or 'NoSuchKey'}: {path}")
        if 300 <= status < 400:
            return StoreError(status, code or "Redirect", "the store answered with a redirect, which is not followed")
        message = _message(body)
        return StoreError(status, code, message)

    def _call(self, what: str, method: str, path: str, params=(), body: bytes = b"", headers=None) -> tuple:
        """(status, {header: value} in lower case, body) of the first answer that is not worth
        retrying, within the storage timeout; a connection that fails ATTEMPTS times raises."""
        deadline = time.monotonic() + self.seconds
        for attempt in range(ATTEMPTS):
            try:
                status, answer, data = self._http.request(method, path, deadline, what, params, body, headers)
            except StorageTimeout:
                raise
            except OSError:  # refused, reset, dropped: classified (and retried again) like botocore's
                if attempt == ATTEMPTS - 1:
                    raise
            except http.client.HTTPException as exc:
                if attempt == ATTEMPTS - 1:
                    raise StoreError(0, "NotHTTP", f"the store's answer is not HTTP ({type(exc).__name__})") from None
            else:
                if not _retried(status, data) or attempt == ATTEMPTS - 1:
                    return status, answer, data
            pause = _BASE * (2 ** attempt) * random.random()
            if time.monotonic() + pause >= deadline:
                raise StorageTimeout(self.seconds, what)
            time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover


class _Download:
    """A GET read as a file, on a connection of its own (the caller reads it in pieces)."""

    def __init__(self, store: PlainS3, path: str):
        self._store, self._path = store, path
        self._connection = store._http.new_connection()
        try:
            object_path = store._object(path)
            self._connection.request("GET", object_path, headers=store._http.signed("GET", object_path))
            self._response = self._connection.getresponse()
            if self._response.status != 200:
                raise store._failure(self._response.status, self._response.read(1 << 16), path)
        except BaseException:
            self._connection.close()
            raise

    def read(self, size: int = -1) -> bytes:
        return self._response.read(None if size < 0 else size)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _retried(status: int, body: bytes) -> bool:
    """Worth another try, as botocore retries: throttling, 5xx, a request timed out."""
    return status >= 500 or status == 429 or (status == 400 and error_code(body) in ("RequestTimeout", "SlowDown"))


_MESSAGE = re.compile(rb"<Message>([^<]{1,400})</Message>")


def _message(body: bytes) -> str:
    """The store's <Message>, printable and short."""
    found = _MESSAGE.search(body or b"")
    if not found:
        return ""
    try:
        text = xml_text(found.group(1))
    except UnicodeDecodeError:
        return ""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:_MESSAGE_LIMIT]


def used(target) -> Optional[PlainS3]:
    """The PlainS3 `target` writes through, if any."""
    fs = getattr(target, "_fs", None)
    return fs if isinstance(fs, PlainS3) else None

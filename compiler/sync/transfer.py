"""Moving one file's bytes to the target, streamed, and checking what arrived.

Files up to STREAM_LIMIT are read into memory once, md5-hashed and sent in one request
(`pipe_file`). Either way the source's stat key (size, mtime, ctime, inode) must still be
the one it had when its sha256 was taken, the premise the hash cache rests on too: a file
changed since is not sent under the digest of its old content. Bigger files go to S3 as a
multipart upload of `part_size` parts, several in flight, each sent with its CRC32
(`s3_parts.py`: the file read once); to other stores through the store's own upload (fsspec
`put_file`), read once more beside it for the md5 the store will report. All transfers together
hold at most MEMORY_BUDGET bytes of file data, whatever the file sizes and --jobs: memory
does not grow with them (a big file holds its parts in flight, until the last is sent: to S3 the
complete then runs while the next file's parts go).

Verification compares a listing with what we sent: size always; the md5 when the store
reports one (S3 single-part ETag, GCS md5Hash, Azure Content-MD5); for an S3 multipart
upload the store's composite CRC32 of the parts, which it answers the complete with and we
computed from the bytes we sent; from a store that answers none, the ETag, md5(part md5s)-N,
which we can compute because we chose the parts (one more read of the file, then).

A version file with a remote origin on the target's own store is copied there by the store
(`compiler.artifacts.remote_copy`); from anywhere else it is uploaded from its verified cache
copy. A server-side copy is verified like an upload: size, and md5 where both sides know it.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

from compiler.artifacts.remote_copy import SERVER_SIDE, UPLOAD, copy_method, local_copy, server_side_copy
from compiler.artifacts.settings import DEFAULT_PART_JOBS
from compiler.storage.stores import object_stamp, speaks, store_md5
from compiler.sync import s3_parts
from compiler.sync.storage_failures import VerifyError

CHUNK = 1 << 20
# Part size of an S3 multipart upload (at least S3's 5 MiB). awscli's 8 MiB, which lets two
# big files go up together within the budget, was measured on moto (docs/benchmarks.md): not
# faster, twice the requests.
BLOCK = 16 << 20
MAX_PARTS = 10_000  # S3's limit: a bigger file (above 156 GiB at BLOCK) gets bigger parts
STREAM_LIMIT = 32 << 20  # up to this, one request (a 20 MB model file is common; parts cost requests)
# Bytes of file data all transfers may hold at once. The SDKs copy a request body two or three
# times more: measured on moto with seven 30-300 MB files and --jobs 8, the process peaks at
# ~230 MB (it starts at ~70), whatever the sizes; a smaller budget costs parallelism.
MEMORY_BUDGET = 64 << 20
# Parts of one big file in flight at once (s3fs holds each in memory) are the run's
# Settings.part_jobs, handed to `send`. (moto's failure at ~1 GiB, "seek of closed file" in
# CompleteMultipartUpload, is s3fs's 15 s read timeout repeating a slow complete, not the
# parallel parts: bench/big_upload_bench.py gives its target a longer one.)


class _Budget:
    """Bytes held in memory by transfers in flight, across threads."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, size: int):
        """Wait for `size` bytes, hold them inside the block; the `_Held` it yields can give them
        back sooner (a big file's parts sent, its complete still running)."""
        size = min(size, self.limit)
        with self._cond:
            self._cond.wait_for(lambda: self.used + size <= self.limit)
            self.used += size
        held = _Held(self, size)
        try:
            yield held
        finally:
            held.release()


class _Held:
    """Bytes held from a `_Budget`; `release` gives them back once, whoever calls it first (the
    upload's event loop when its parts are sent, or the holder's block when it ends)."""

    def __init__(self, budget: _Budget, size: int):
        self._budget, self._size = budget, size

    def release(self) -> None:
        # Only the lock, briefly, never its wait: this runs on s3fs's event loop too.
        with self._budget._cond:
            if self._size:
                self._budget.used -= self._size
                self._size = 0
                self._budget._cond.notify_all()


MEMORY = _Budget(MEMORY_BUDGET)


@dataclass(frozen=True)
class Sent:
    """What one transfer put on the wire, for verification against a listing."""

    size: int
    md5: str
    multipart_etag: Optional[str] = None
    answer: Optional[dict] = None  # the store's reply to a one-request write, when it names the content (S3 ETag)
    # md5 left out (an S3 multipart upload): how to get it if the store reports one after all
    whole_md5: Optional[Callable[[], str]] = field(default=None, compare=False)
    # An S3 multipart upload with CRC32s (s3_parts.py): the composite checksum of what we sent,
    # which the store's answer to the complete (`answer`) must report
    checksum: Optional[str] = None
    # ... and, for a store that reports none, how to get the multipart ETag (reads the file again)
    parts_etag: Optional[Callable[[], Optional[str]]] = field(default=None, compare=False)

    def answered(self) -> bool:
        """Does the store's reply to the write itself say it holds what we sent (so no need to ask)?"""
        if self.answer is None:
            return False
        if self.checksum is not None:
            return self.checksum_verdict() is True
        return bool(self.md5) and store_md5(self.answer) == self.md5

    def checksum_verdict(self) -> Optional[bool]:
        """An S3 multipart upload with CRC32s: does the checksum the store answered (s3_parts.py)
        match ours? None when it answered none, or one that may be of another kind: then the
        md5s decide, as for a store without checksums."""
        if self.checksum is None:
            return None
        reported = str((self.answer or {}).get(s3_parts.CHECKSUM) or "")
        if "-" in reported:  # a composite (S3): of our parts, or not our object
            return reported == self.checksum
        if reported and reported == self.checksum.rsplit("-", 1)[0]:  # the same without "-N" (moto)
            return True
        return None  # none, or without "-N" and another value (a full-object CRC32?): not a verdict


def _answer(reply, size: int) -> Optional[dict]:
    """What a one-request write's reply says was stored, as a listing entry: S3's PutObject
    answers with the ETag, which for a single-part object is the md5 of the bytes it stored.
    Other stores' replies say nothing about the content (None): what arrived is asked for."""
    if isinstance(reply, dict) and reply.get("ETag"):
        return {"ETag": reply["ETag"], "size": size}
    return None


def _pump(src, out, want, block: int = BLOCK, whole: bool = True) -> Sent:
    """Copy the local file `src` into the open file `out`, md5-hashing what is sent. `whole`:
    the md5 of the whole file too (not for an S3 multipart upload, whose ETag is made of the
    parts' md5s: a second pass over every byte that nothing would compare)."""
    md5, size = hashlib.md5() if whole else None, 0
    multipart = want.size > block  # then S3 reports md5(part md5s)-N: keep the parts' digests
    parts, part, part_fill = [], hashlib.md5(), 0
    with open(src, "rb") as source:
        _still_planned(source, src, want)
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            if md5 is not None:
                md5.update(chunk)
            size += len(chunk)
            view = memoryview(chunk) if multipart else b""
            while view:
                take = min(len(view), block - part_fill)
                part.update(view[:take])
                part_fill += take
                view = view[take:]
                if part_fill == block:
                    parts.append(part.digest())
                    part, part_fill = hashlib.md5(), 0
        _still_planned(source, src, want, size)
    if part_fill:
        parts.append(part.digest())
    etag = hashlib.md5(b"".join(parts)).hexdigest() + f"-{len(parts)}" if len(parts) > 1 else None
    return Sent(size, md5.hexdigest() if md5 is not None else "", etag)


def _still_planned(handle, src, want, size: Optional[int] = None) -> None:
    """Raise unless the open file `handle` (of `src`) is still the one planned: its stat key the
    one `want` was hashed under, and, given `size` (the bytes read, at the end), all of it."""
    if (size is not None and size != want.size) or not want.unchanged(os.fstat(handle.fileno())):
        raise _changed(src, want)


def _changed(src, want) -> VerifyError:
    # Already written if it got that far (fsspec commits on close): the caller sends it again,
    # and a sync that keeps failing stops before any config refers to the file.
    return VerifyError(f"{src} changed while it was being sent (expected {want.size} bytes, "
                       f"sha256 {want.sha256[:12]}...)")


def mark_methods(plan, target) -> None:
    """Say how each file of the plan reaches the target: SERVER_SIDE when it has a remote origin
    on the target's own store (same endpoint and credentials), else UPLOAD (sent from here)."""
    for change in plan.changes:
        if change.want is not None:
            change.method = copy_method(change.want.entry, target.url, target.options)


def local_source(want):
    """The local file to send: the entry's own, or for a remote file left remote its verified
    cache copy (downloaded now if the cache does not hold it)."""
    entry = want.entry
    return entry.source if entry.source is not None else local_copy(entry.origin, want.cache.root, want.sha256)


def send(fs, want, dest: str, method: str = UPLOAD, origin=None, part_jobs: int = DEFAULT_PART_JOBS) -> Sent:
    """Put one wanted file at `dest` (a path inside `fs`), the cheapest streamed way. `origin`:
    where to copy it from within the store, if not the entry's own (sync --from-target);
    `part_jobs`: parts of a big file in flight at once (Settings.part_jobs)."""
    entry = want.entry
    if method == SERVER_SIDE and origin is not None:
        server_side_copy(origin, fs, dest)
        return Sent(want.size, origin.md5)
    if entry.data is not None:
        reply = fs.pipe_file(dest, entry.data)
        return Sent(want.size, want.md5, answer=_answer(reply, len(entry.data)))
    if method == SERVER_SIDE:  # no byte passes through here; the listing verifies what arrived
        server_side_copy(entry.origin, fs, dest)
        return Sent(want.size, entry.origin.md5)
    source = local_source(want)
    if want.size <= STREAM_LIMIT:
        with MEMORY.hold(want.size):
            with open(source, "rb") as handle:
                data = handle.read(want.size + 1)  # one byte more shows a file that grew; no 32 MiB buffer
                _still_planned(handle, source, want, len(data))
            md5 = hashlib.md5(data).hexdigest()
            reply = fs.pipe_file(dest, data)
            return Sent(want.size, md5, answer=_answer(reply, len(data)))
    part = part_size(want.size)
    jobs = max(1, min(part_jobs, MEMORY_BUDGET // part))  # a file of huge parts holds fewer at once
    with MEMORY.hold(part * jobs) as held:  # given back once the parts are sent, before the complete (S3)
        return put_large(fs, source, dest, want, jobs, part, parts_sent=held.release)


def part_size(size: int) -> int:
    """The part size of a multipart upload of `size` bytes: BLOCK, or for a file of more than
    MAX_PARTS blocks the smallest whole MiB that keeps it within MAX_PARTS parts (s3fs takes
    the size it is given; part 10,001 would fail)."""
    smallest = -(-size // MAX_PARTS)
    return max(BLOCK, -(-smallest // CHUNK) * CHUNK)


class _Discard:
    def write(self, data) -> None:
        pass


def _part_options(fs, part_jobs: int, part: int) -> dict:
    """fsspec put_file arguments for parts in parallel: s3fs and adlfs take `max_concurrency`;
    s3fs also the part size, which must be `part` for the multipart ETag we compute to match.
    Others (gcsfs: a resumable upload, one chunk after another) take their defaults."""
    if speaks(fs, "s3"):
        return {"chunksize": part, "max_concurrency": part_jobs}
    if speaks(fs, "abfs", "az"):
        return {"max_concurrency": part_jobs}
    return {}


def put_large(fs, source, dest: str, want, part_jobs: int, part: int,
              parts_sent: Optional[Callable[[], None]] = None) -> Sent:
    """A big file in parts of `part` bytes, `part_jobs` in flight: to S3 (s3fs) with a CRC32 per
    part (`s3_parts.upload`); elsewhere through the store's own upload (fsspec `put_file`: Azure
    blocks likewise), while this thread reads the same file (from the page cache, mostly) for the
    md5 the store will report. Either way the stat key, checked before the first byte is read and
    after the last, shows the bytes sent are the ones planned. `parts_sent`: called (S3) once every
    part is sent, before the complete, which on moto takes seconds per GiB (S3's too grows with
    the parts): the memory it frees lets the next big file's parts go meanwhile, as awscli's do."""
    if speaks(fs, "s3") and s3_parts.speaks_checksums(fs):
        return _put_parts(fs, source, dest, want, part_jobs, part, parts_sent)
    options = _part_options(fs, part_jobs, part)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-put") as pool:
        upload = pool.submit(fs.put_file, str(source), dest, **options)
        try:
            # raises if the file is not the one hashed; S3 (parts of `part`): the parts' md5s suffice
            sent = _pump(source, _Discard(), want, block=part, whole="chunksize" not in options)
            if not sent.md5:
                sent = Sent(sent.size, "", sent.multipart_etag, whole_md5=lambda: want.md5)  # index, or a read
        finally:
            upload.result()  # the upload's own error comes first; never leave it running
    with open(source, "rb") as handle:
        _still_planned(handle, source, want)
    return sent


def _put_parts(fs, source, dest: str, want, part_jobs: int, part: int,
               parts_sent: Optional[Callable[[], None]] = None) -> Sent:
    def check(handle, size: Optional[int]) -> None:
        _still_planned(handle, source, want, size)

    reply, checksum = s3_parts.upload(fs, source, dest, part, part_jobs, check, parts_sent)
    answer = {"ETag": reply.get("ETag"), "size": want.size, s3_parts.CHECKSUM: reply.get(s3_parts.CHECKSUM)}

    def parts_etag() -> Optional[str]:  # a store without checksums: today's check, one more read
        return _pump(source, _Discard(), want, block=part, whole=False).multipart_etag

    return Sent(want.size, "", answer=answer, whole_md5=lambda: want.md5, checksum=checksum, parts_etag=parts_etag)


def write_local(want, dest: str) -> Sent:
    """Write one wanted file to a new local path (the caller renames it into place). The name
    must not exist yet and is never followed if it is a link: O_CREAT|O_EXCL|O_NOFOLLOW."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    with os.fdopen(os.open(dest, flags, 0o644), "wb") as out:
        if want.entry.data is not None:
            out.write(want.entry.data)
            return Sent(want.size, want.md5)
        return _pump(local_source(want), out, want)


def arrived(remote, sent: Sent) -> bool:
    """Does the listed object hold what we sent? (remote: listing.Remote or None)"""
    if remote is None or remote.size != sent.size:
        return False
    verdict = sent.checksum_verdict()  # an S3 multipart upload with CRC32s: what the store answered
    if verdict is not None:  # ... and the object listed is the one it answered for
        answer = sent.answer or {}
        return verdict and (not answer.get("ETag") or remote.stamp == object_stamp(answer))
    if remote.md5 and not sent.md5 and sent.whole_md5 is not None:  # a store that answers a multipart
        return remote.md5 == sent.whole_md5()  # upload with the md5 of the whole (not S3 itself)
    if remote.md5 and sent.md5:  # sent.md5 is "" after a server-side copy of an object of unknown md5
        return remote.md5 == sent.md5
    if remote.stamp.count("-") == 1 and (sent.multipart_etag or sent.parts_etag is not None):
        etag = sent.multipart_etag or (sent.parts_etag() if sent.parts_etag is not None else None)
        suffix = remote.stamp.rsplit("-", 1)[1]
        if etag and suffix == etag.rsplit("-", 1)[1]:
            return remote.stamp.lower() == etag
    return True  # the store reports no digest for this object: the size is all we can check

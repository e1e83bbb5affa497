"""An S3 multipart upload of one local file whose parts carry their CRC32 (S3's flexible checksums).

Why our own part loop rather than s3fs's `put_file`: to check what arrived without an md5 of
every part. The upload is created with `ChecksumAlgorithm=CRC32` (type COMPOSITE, S3's default
for CRC32 and what awscli creates); each part is read once, its CRC32 taken from the very bytes
sent (zlib, ~6x the speed of md5 here) and sent with it (`x-amz-checksum-crc32`: S3 rejects a part
whose bytes do not match, and botocore, seeing the header, does not compute it again); the
complete names every part's CRC32, as S3 requires for such an upload (s3fs's complete leaves them
out, which S3 refuses: fsspec/s3fs#672). The complete's answer carries the object's checksum,
`base64(CRC32(the parts' CRC32s))-N`, computed by the store from the parts it joined: equal to
ours, the object holds the bytes we read, in order (`transfer.arrived`). moto 5.2.5 leaves the
checksum out of that answer, and reports it on a HEAD with `ChecksumMode=ENABLED`, without the
"-N": asked then. A store that reports none falls back to the md5 ETag check, at the price of
one more read of the file.

Parts in flight are bounded by `jobs` (each held in memory while it is sent), read one after the
other so the file is read once, front to back; a failure aborts the upload, so no part is left
stored (and billed) and no object written.
"""
from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from typing import Optional

ALGORITHM = "CRC32"
CHECKSUM = "ChecksumCRC32"  # the field of the answers (and of a part in the complete)


def crc32_b64(value: int) -> str:
    """A CRC32 as S3 writes it: the 4 bytes big-endian, base64."""
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")


def composite(part_crcs: list) -> str:
    """The checksum S3 reports for a multipart object of COMPOSITE CRC32: the CRC32 of the parts'
    CRC32s (4 bytes each, in part order), base64, then "-" and the number of parts."""
    joined = b"".join(crc.to_bytes(4, "big") for crc in part_crcs)
    return f"{crc32_b64(zlib.crc32(joined))}-{len(part_crcs)}"


def speaks_checksums(fs) -> bool:
    """Whether `fs` (or a Bounded one) is s3fs, whose calls this module makes (`_call_s3`)."""
    return callable(getattr(getattr(fs, "wrapped", fs), "_call_s3", None))


def upload(fs, source, dest: str, part: int, jobs: int, check: Callable,
           parts_sent: Optional[Callable[[], None]] = None) -> tuple:
    """Send the local file `source` to `dest` (BUCKET/KEY inside the s3fs `fs`) in parts of `part`
    bytes, `jobs` in flight. `check(handle, size)`: raises if the open file is not the one planned
    (its stat key; size None before the first read, else the bytes read, at the end, before the
    complete). `parts_sent()`: called on the event loop (it must not wait) once every part is
    sent, their bodies dropped, before the complete. Returns (the complete's answer, the
    composite checksum of what we sent)."""
    from fsspec.asyn import sync  # noqa: PLC0415 - fsspec ~140 ms: only a sync with a big file to send loads it

    s3 = getattr(fs, "wrapped", fs)
    bucket, key, _ = s3.split_path(dest)
    return sync(s3.loop, _upload, s3, str(source), bucket, key, part, max(1, jobs), check, parts_sent)


def _read(handle, part: int) -> tuple:
    body = handle.read(part)
    return body, zlib.crc32(body)


async def _upload(s3, source: str, bucket: str, key: str, part: int, jobs: int, check: Callable,
                  parts_sent: Optional[Callable[[], None]] = None) -> tuple:
    import asyncio  # noqa: PLC0415 - with ssl 0.1-0.2 s (importtime, load 10): the main process imports transfer, not this
    import mimetypes  # noqa: PLC0415 - likewise: only an upload of a big file

    where = {"Bucket": bucket, "Key": key}
    content_type, _ = mimetypes.guess_type(source)  # as s3fs's put_file sets it
    extra = {"ContentType": content_type} if content_type else {}
    created = await s3._call_s3("create_multipart_upload", **where, ChecksumAlgorithm=ALGORITHM, **extra)
    upload_id = created["UploadId"]
    slots = asyncio.Semaphore(jobs)
    crcs: list = []
    etags: dict = {}
    sending: list = []

    async def send(number: int, body: bytes, crc: int) -> None:
        try:
            reply = await s3._call_s3("upload_part", **where, UploadId=upload_id, PartNumber=number, Body=body,
                                      **{CHECKSUM: crc32_b64(crc)})
        finally:
            slots.release()
        etags[number] = reply["ETag"]

    try:
        with open(source, "rb") as handle:
            check(handle, None)
            size = 0
            while not any(task.done() and task.exception() for task in sending):  # a failed part stops the reading
                await slots.acquire()
                body, crc = _read(handle, part)  # here, as s3fs reads: in a thread, 20-30 MB more at peak (its malloc arena)
                if not body:
                    slots.release()
                    break
                size += len(body)
                crcs.append(crc)
                sending.append(asyncio.ensure_future(send(len(crcs), body, crc)))
                del body
            await asyncio.gather(*sending)  # the first part's failure, if any
            if parts_sent is not None:  # no part body is held any more: the next file's may go
                parts_sent()
            check(handle, size)  # before the complete: a file changed meanwhile is never an object
        parts = [{"PartNumber": n, "ETag": etags[n], CHECKSUM: crc32_b64(crc)} for n, crc in enumerate(crcs, 1)]
        answer = await s3._call_s3("complete_multipart_upload", **where, UploadId=upload_id,
                                   MultipartUpload={"Parts": parts})
    except BaseException:
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        await _abort(s3, where, upload_id)
        raise
    if not answer.get(CHECKSUM):
        answer = await _asked(s3, where, answer)
    return answer, composite(crcs)


async def _asked(s3, where: dict, answer: dict) -> dict:
    """A complete answered without the checksum (moto 5.2.5 leaves it out; S3 gives it): what a
    HEAD with checksum mode says instead, its ETag and checksum together (one object version).
    If that fails, the answer as it was: the check of what arrived then asks the store itself."""
    try:
        head = await s3._call_s3("head_object", **where, ChecksumMode="ENABLED")
    except Exception:  # noqa: BLE001 - the object is written; only the shortcut is lost
        return answer
    return {**answer, "ETag": head.get("ETag"), CHECKSUM: head.get(CHECKSUM)}


async def _abort(s3, where: dict, upload_id: str) -> Optional[Exception]:
    """Drop the stored parts; the failure that brought us here is the one to report."""
    try:
        await s3._call_s3("abort_multipart_upload", **where, UploadId=upload_id)
    except Exception as exc:  # noqa: BLE001 - a lifecycle rule on the bucket ends what this leaves
        return exc
    return None

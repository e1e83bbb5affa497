"""Listing an S3 target without the SDK's per-object work.

A no-op plan of 10,000 models x 2 versions lists 30,000 objects in 30 pages. Through
`fs.find`, each page is parsed by botocore (an ElementTree of ~7,000 elements walked by
Python code that follows the service model, then every LastModified parsed into a datetime),
then s3fs turns every object into an info dict and makes up a directory entry for every
folder above it (another 30,000 dicts here), and all of it only for a size and an ETag per
object. This lister makes the same ListObjectsV2 requests (the same prefix and pages, each
through s3fs's `_call_s3`, with its retries and error translation), and for its own requests
only, a `before-parse` handler reads each page's <Contents> with a regular expression and
hands botocore the page without them: botocore still parses the rest (IsTruncated, the
continuation token, EncodingType) and still URL-decodes the keys (its after-call handler).

What it answers is what `fs.find(root, detail=True)` answers, reduced to the fields
compiler/sync/listing.py reads (size, ETag): tests/fastpath/test_s3_listing.py compares the
two. Anything unexpected in a page (no Key or Size in an object, a body that is not a
ListBucketResult) leaves that page to botocore, and an empty listing is left to `find`
(the root may be an object itself, or the bucket may be missing).
"""
from __future__ import annotations

import contextvars
import html
import re

from fsspec.asyn import sync

from compiler.storage.stores import StorageTimeout, speaks

_OURS = contextvars.ContextVar("triton_gitops_lean_listing", default=False)  # set by our requests only
_CONTENTS = re.compile(rb"<Contents>.*?</Contents>", re.S)
# Key, ETag and Size come in this order in every object (the schema's sequence: Key,
# LastModified, ETag, checksums, Size, Owner, StorageClass); one match per object is checked.
_OBJECT = re.compile(rb"<Contents>\s*<Key>([^<]*)</Key>.*?<ETag>([^<]*)</ETag>.*?<Size>(\d+)</Size>.*?</Contents>", re.S)
_QUOTE = b"&quot;"
_HANDLER_ID = "triton-gitops-lean-listing"


def list_objects(target):
    """{bucket/key: {"type": "file", "size": int, "ETag": str, ...}} of every object under the root of
    an S3 `target`, in the store's order; None when this lister does not apply (not S3, or an
    empty answer, which `find` must interpret)."""
    fs = getattr(target.fs, "wrapped", target.fs)
    if not _is_s3(fs):
        return None
    bucket, _, key = target.root.partition("/")
    prefix = key.strip("/") + "/" if key.strip("/") else ""
    seconds = getattr(target.fs, "_seconds", None)
    try:
        found = sync(fs.loop, _list, fs, bucket, prefix, timeout=seconds)
    except TimeoutError as exc:  # fsspec's FSTimeoutError is one
        if isinstance(exc, StorageTimeout):
            raise
        raise StorageTimeout(seconds or 0.0, "find") from exc
    return found or None


def _is_s3(fs) -> bool:
    return speaks(fs, "s3") and hasattr(fs, "_call_s3")


async def _list(fs, bucket: str, prefix: str) -> dict:
    await fs.set_session()
    client = await fs.get_s3(bucket)
    client.meta.events.register("before-parse.s3.ListObjectsV2", _read_contents, unique_id=_HANDLER_ID)
    _OURS.set(True)  # this task's context: what our requests parse, not anybody else's
    found: dict = {}
    cursor: dict = {}
    while True:
        page = await fs._call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, **cursor)
        for item in page.get("Contents", ()):
            item["type"], item["size"] = "file", item["Size"]  # the fields of s3fs's info read downstream
            found[f"{bucket}/{item['Key']}"] = item
        if not page.get("IsTruncated"):
            return found
        cursor = {"ContinuationToken": page["NextContinuationToken"]}


def _read_contents(response_dict=None, customized_response_dict=None, **_):
    """before-parse: take the objects out of a ListObjectsV2 page of ours (botocore merges
    `customized_response_dict` into what it parses)."""
    if not _OURS.get() or response_dict is None or customized_response_dict is None:
        return
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not isinstance(body, bytes) or b"<ListBucketResult" not in body[:512]:
        return
    found = _OBJECT.findall(body)
    if len(found) != body.count(b"<Contents>"):
        return  # an object without a Key, ETag or Size where we expect one: botocore parses this page
    response_dict["body"] = _CONTENTS.sub(b"", body)
    if found:
        customized_response_dict["Contents"] = [{"Key": _text(key), "Size": int(size), "ETag": _etag(etag)}
                                                for key, etag, size in found]


def _etag(raw: bytes) -> str:
    """S3 writes the quotes of an ETag as &quot;: the usual case without html.unescape."""
    if raw.startswith(_QUOTE) and raw.endswith(_QUOTE) and raw.count(b"&") == 2:
        return '"' + raw[6:-6].decode("ascii", "replace") + '"'
    return _text(raw)


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8")
    return html.unescape(text) if "&" in text else text


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

from compiler.storage.stores import Bounded, speaks

_OURS = contextvars.ContextVar("triton_gitops_lean_listing", default=False)  # set by our requests only
_CONTENTS = re.compile(rb"<Contents>.*?</Contents>", re.S)
# Key, ETag and Size come in this order in every object (the schema's sequence: Key,
# LastModified, ETag, checksums, Size, Owner, StorageClass); one match per object is checked.
_OBJECT = re.compile(rb"<Contents>\s*<Key>([^<]*)</Key>.*?<ETag>([^<]*)</ETag>.*?<Size>(\d+)</Size>.*?</Contents>", re.S)
# How stores escape an ETag's quotes: S3 as &quot;, those written in Go (encoding/xml: SeaweedFS,
# MinIO) as &#34;. Each escape's own length, so both are undone without html.unescape (a regular
# expression per character reference: 0.06 s of the helper's CPU on the 30,000 keys of a listing).
_QUOTES = (b"&quot;", b"&#34;")
_HANDLER_ID = "triton-gitops-lean-listing"


def list_objects(target):
    """{bucket/key: {"type": "file", "size": int, "ETag": str, ...}} of every object under the root of
    an S3 `target`, in the store's order; None when this lister does not apply (not S3, or an
    empty answer, which `find` must interpret)."""
    from fsspec.asyn import sync  # noqa: PLC0415 - fastpath: the SDK's path only (the plain reader, s3_raw.py, parses pages here too)

    fs = getattr(target.fs, "wrapped", target.fs)
    if not _is_s3(fs):
        return None
    bucket, _, key = target.root.partition("/")
    bounded = target.fs if isinstance(target.fs, Bounded) else None
    if bounded is None:
        found = sync(fs.loop, _list, fs, bucket, listing_prefix(key))
    else:
        found = bounded.within("find", sync, fs.loop, _list, fs, bucket, listing_prefix(key))
    return found or None


def listing_prefix(key: str) -> str:
    """The Prefix that lists what is under the folder `key` of a bucket, as s3fs's find asks it."""
    return key.strip("/") + "/" if key.strip("/") else ""


def page_objects(body: bytes):
    """[(key, ETag, size)] of the objects in a ListObjectsV2 page, keys XML-unescaped (still
    URL-encoded when the request asked for encoding-type=url); None when the body is not a
    ListBucketResult or holds an object without a Key, ETag or Size where expected."""
    if b"<ListBucketResult" not in body[:512]:
        return None
    found = _OBJECT.findall(body)
    if len(found) != body.count(b"<Contents>"):
        return None
    return [(xml_text(key), _etag(etag), int(size)) for key, etag, size in found]


def _is_s3(fs) -> bool:
    return speaks(fs, "s3") and hasattr(fs, "_call_s3")


async def _list(fs, bucket: str, prefix: str) -> dict:
    await fs.set_session()
    _register(await fs.get_s3(bucket))
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


def _register(client) -> None:
    """`_read_contents` before botocore's own first `before-parse` handler, the check for an S3
    error inside a 200 answer (handlers.py, `_handle_200_error`). That one is registered first
    on `before-parse.s3.*`, which botocore calls before the handlers of a named operation, and it
    builds an ElementTree of the whole page only to look at its root's tag: at 31 pages of 1,000
    objects (7.7 MB) that was 0.28-0.37 s of the 0.8-0.9 s of CPU the listing took. Registered first on the same event
    and that check then registered again behind it, ours takes the objects out beforehand, and
    the check still reads what is left (the page's own tags; a page that is an error, or cut
    short inside an object, is not ours to read and reaches it whole)."""
    from botocore.handlers import _handle_200_error  # noqa: PLC0415 - the child's, with the SDK it already imported

    events = client.meta.events
    events.register_first("before-parse.s3.*", _read_contents, unique_id=_HANDLER_ID)
    events.unregister("before-parse.s3.*", _handle_200_error)
    events.register_first("before-parse.s3.*", _handle_200_error)


def _read_contents(response_dict=None, customized_response_dict=None, operation_model=None, **_):
    """before-parse: take the objects out of a ListObjectsV2 page of ours (botocore merges
    `customized_response_dict` into what it parses)."""
    if not _OURS.get() or response_dict is None or customized_response_dict is None:
        return
    if getattr(operation_model, "name", None) != "ListObjectsV2":
        return
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not isinstance(body, bytes):
        return
    found = page_objects(body)
    if found is None:
        return  # not a listing, or an object without a Key, ETag or Size where we expect one: botocore's
    response_dict["body"] = _CONTENTS.sub(b"", body)
    if found:
        customized_response_dict["Contents"] = [{"Key": key, "Size": size, "ETag": etag} for key, etag, size in found]


def _etag(raw: bytes) -> str:
    """An ETag's text: quotes escaped as &quot; or &#34; (_QUOTES) and nothing else escaped, the
    usual case, without html.unescape."""
    for quote in _QUOTES:
        if raw.startswith(quote) and raw.endswith(quote) and raw.count(b"&") == 2:
            return '"' + raw[len(quote):-len(quote)].decode("ascii", "replace") + '"'
    return xml_text(raw)


def xml_text(raw: bytes) -> str:
    """An element's text, XML escapes undone."""
    text = raw.decode("utf-8")
    return html.unescape(text) if "&" in text else text


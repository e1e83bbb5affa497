"""The lean S3 lister (compiler/fastpath/s3_listing.py) answers what `fs.find` answers, over
several pages and for names XML and URLs escape, and leaves every other request of the same
client to botocore's own parsing."""
from __future__ import annotations

from types import SimpleNamespace

import botocore.handlers
import pytest

from compiler.fastpath import s3_listing
from compiler.storage.stores import Bounded
from compiler.sync.listing import list_target
from compiler.sync.target import Target

pytestmark = pytest.mark.emulators

ODD_NAMES = ["a b/c&d<e>f.txt", "ünï/ç.py", "pct%20x/y", "quote\"s'/z", "plus+sign/=eq", "dir/", "tab\tx",
             "amp&amp;/x"]


@pytest.fixture(scope="module")
def bucket(s3_emulator):
    """A bucket with 1,010 objects under repo/ (two pages), odd names among them, and others beside it."""
    name = s3_emulator.make_bucket()
    fs = s3_emulator.fs()
    objects = {f"{name}/repo/m_{i:04d}/1/model.py": b"x" * (i % 7) for i in range(1002)}
    objects.update({f"{name}/repo/{odd}": odd.encode() for odd in ODD_NAMES})
    objects.update({f"{name}/repo2/not-under-the-root": b"2", f"{name}/other/x": b"3"})
    fs.pipe(objects)
    return name


def _target(emulator, root: str) -> Target:
    return Target(name="", url=f"s3://{root}", _fs=Bounded(emulator.fs(), 60.0), _root=root, local=False)


def test_the_same_objects_sizes_and_etags_as_find(s3_emulator, bucket):
    root = f"{bucket}/repo"
    lean = s3_listing.list_objects(_target(s3_emulator, root))
    found = s3_emulator.fs().find(root, detail=True, withdirs=False)
    assert len(found) == 1002 + len(ODD_NAMES)
    assert list(lean) == list(found)  # the same names, in the same order
    for name, info in found.items():
        assert lean[name]["size"] == info["size"] and lean[name]["ETag"] == info["ETag"], name
    assert f"{bucket}/repo/quote\"s'/z" in lean and f"{bucket}/repo/amp&amp;/x" in lean


def test_the_listing_is_the_same_with_the_fast_path_off(s3_emulator, bucket, monkeypatch):
    root = f"{bucket}/repo"
    lean = list_target(_target(s3_emulator, root))
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "0")
    plain = list_target(_target(s3_emulator, root))
    assert lean == plain and len(plain.files) == 1002 + len(ODD_NAMES)


def test_other_requests_of_the_client_are_parsed_by_botocore(s3_emulator, bucket):
    target = _target(s3_emulator, f"{bucket}/repo")
    s3_listing.list_objects(target)  # registers the handler on this client
    fs = target.fs
    info = fs.info(f"{bucket}/repo/m_0001/1/model.py")  # ListObjectsV2 or HEAD: botocore's fields
    assert info["size"] == 1 and "LastModified" in info
    found = fs.find(f"{bucket}/other", detail=True)
    assert "LastModified" in found[f"{bucket}/other/x"]


def test_botocore_checks_each_page_for_an_error_after_the_objects_are_out(s3_emulator, bucket, monkeypatch):
    """Its 200-error check (an ElementTree of the page, for the root's tag) runs on every page
    still, on what is left of it: an error answered with 200, or a page cut short, is caught."""
    checked: list = []
    plain = botocore.handlers._looks_like_special_case_error

    def spy(status, body):
        checked.append(body)
        return plain(status, body)

    monkeypatch.setattr(botocore.handlers, "_looks_like_special_case_error", spy)
    target = _target(s3_emulator, f"{bucket}/repo")
    assert len(s3_listing.list_objects(target)) == 1002 + len(ODD_NAMES)
    assert len(checked) == 2 and all(b"<ListBucketResult" in body and b"<Contents>" not in body for body in checked)
    assert plain(200, checked[0]) is False and plain(200, checked[0][:-20]) is True  # cut short: an error
    s3_listing.list_objects(target)  # registered again on the same client: once, in the same order
    assert len(checked) == 4 and b"<Contents>" not in checked[-1]


def test_an_empty_root_is_left_to_find(s3_emulator, bucket):
    assert s3_listing.list_objects(_target(s3_emulator, f"{bucket}/nothing-here")) is None


def _read(body: bytes, ours: bool = True, operation: str = "ListObjectsV2"):
    response, custom = {"status_code": 200, "body": body}, {}
    token = s3_listing._OURS.set(ours)
    try:
        s3_listing._read_contents(response_dict=response, customized_response_dict=custom,
                                  operation_model=SimpleNamespace(name=operation))
    finally:
        s3_listing._OURS.reset(token)
    return response["body"], custom


PAGE = (b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name>'
        b'<Contents><Key>a&amp;b</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>'
        b'<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass>'
        b'</Contents><IsTruncated>false</IsTruncated></ListBucketResult>')


def test_a_page_is_read_without_its_objects_left_for_botocore():
    body, custom = _read(PAGE)
    assert custom["Contents"] == [{"Key": "a&b", "Size": 3, "ETag": '"0cc175b9c0f1b6a831c399e269772661"'}]
    assert b"Contents" not in body and b"<IsTruncated>false</IsTruncated>" in body


def test_an_etag_reads_the_same_however_its_quotes_are_escaped():
    # &quot; as S3 writes them, &#34; as stores written in Go do (SeaweedFS, MinIO), &#x22; and
    # mixed forms through html.unescape; anything else escaped inside is undone too.
    for quote in (b"&quot;", b"&#34;", b"&#x22;"):
        for etag, read in ((b"0cc175b9", '"0cc175b9"'), (b"abc-2", '"abc-2"')):
            assert s3_listing._etag(quote + etag + quote) == read
    assert s3_listing._etag(b"&quot;a&amp;b&#34;") == '"a&b"'
    assert s3_listing._etag(b"&#34;a&#34;b&#34;") == '"a"b"'
    assert s3_listing._etag(b"0cc175b9") == "0cc175b9"
    body, custom = _read(PAGE.replace(b"&quot;", b"&#34;"))
    assert custom["Contents"] == [{"Key": "a&b", "Size": 3, "ETag": '"0cc175b9c0f1b6a831c399e269772661"'}]


def test_pages_it_does_not_recognise_or_does_not_own_are_left_to_botocore():
    without_etag = PAGE.replace(b"<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag>", b"")
    assert _read(without_etag) == (without_etag, {})
    assert _read(PAGE, ours=False) == (PAGE, {})  # another request of the same client
    assert _read(PAGE, operation="ListObjects") == (PAGE, {})  # registered for every S3 operation: not theirs
    error = b'<?xml version="1.0"?><Error><Code>SlowDown</Code></Error>'
    assert _read(error) == (error, {})

"""The plain S3 reader's listing in key ranges (compiler/fastpath/s3_raw.py, `_ranged`) lists
every key exactly once, in the store's order, as the single loop does, whatever the keys are and
wherever the state's split points fall; and a range that fails leaves the whole read to the SDK."""
from __future__ import annotations

import json

import pytest

from compiler.control_files import Record, State
from compiler.fastpath import s3_raw
from compiler.fastpath.s3_listing import list_objects
from compiler.sync.read import read_target
from compiler.sync.state import STATE_NAME
from compiler.sync.target import Target
from tests.fastpath.test_s3_listing import ODD_NAMES
from tests.fastpath.test_s3_raw import _targets
from tests.hardening.faultproxy import FaultProxy

MODELS = [f"m_{i:04d}/1/model.py" for i in range(1200)]  # past the first page of 1,000 keys
# In the state, not in the bucket (deleted by hand since): split points where no key is, empty
# ranges between them. Unicode, escaped in the state's JSON (\u00fc, an emoji's surrogate pair).
GONE = [f"n_gone/ü{i:04d}" for i in range(1800)] + [f"o_gone/\U0001F600{i:04d}" for i in range(200)]
STATE_FILES = sorted(MODELS + GONE)
# Keys of the bucket beside the models: foreign ones before, between and after them, keys equal
# to the state's split points (and just past them), names that are URL-encoded in the listing.
FOREIGN = (["!first", "0-foreign", "m_0500/stray", "m_05000", "m_1199/1/model.py~", "n_gone/ü0000",
            "n_gone/ü0000/deeper", "n_gone/ü0000 ", "n_gone/ü0400", "n_gone/ü0800", "n_gone/ü0800x", "n_gone/v",
            "o_gone/\U0001F6000000", "o_gone/\U0001F6000100", "p/漢字/a", "~tilde", "\U0001F600", "ünï"]
           + [f"zz/{odd}" for odd in ODD_NAMES])


def _state() -> bytes:
    """The state as a sync writes it (control_files.State.to_bytes: indent=1, sorted paths)."""
    files = {path: {"size": 1, "sha256": "0" * 64, "md5": "0" * 32, "stamp": "e"} for path in STATE_FILES}
    return (json.dumps({"format": 1, "files": files, "ensembles": ["m_ens"]}, indent=1) + "\n").encode()


@pytest.fixture(scope="module")
def ranged_bucket(s3_emulator):
    name = s3_emulator.make_bucket()
    objects = {f"{name}/r/{key}": b"x" * (len(key) % 5) for key in MODELS + FOREIGN}
    objects[f"{name}/r/{STATE_NAME}"] = _state()
    objects[f"{name}/r-beside/m_0001/1/model.py"] = b"not under the root"
    s3_emulator.fs().pipe(objects)
    return name


@pytest.fixture(autouse=True)
def _ranges_of_a_tenth_of_a_page(monkeypatch):
    """8 ranges of these 3,200 state files (one a page's worth would make 3)."""
    monkeypatch.setattr(s3_raw, "_PAGE", 100)


@pytest.fixture
def spy(monkeypatch):
    """The split points each ranged listing used."""
    used: list = []
    ranged = s3_raw._ranged

    def record(first, seen, page, key, bounds):
        used.append(list(bounds))
        return ranged(first, seen, page, key, bounds)
    monkeypatch.setattr(s3_raw, "_ranged", record)
    return used


def test_the_split_points_come_from_the_state_past_the_first_page(monkeypatch):
    points = s3_raw.split_points(_state(), "r/", "r/m_0997/1/model.py")
    every = [f"r/{STATE_FILES[len(STATE_FILES) * i // s3_raw.RANGES]}" for i in range(1, s3_raw.RANGES)]
    assert points == [point for point in every if point > "r/m_0997/1/model.py"] and len(points) >= 4
    assert "r/n_gone/ü0000" in points and "r/n_gone/ü0400" in points  # keys the bucket holds too
    monkeypatch.setattr(s3_raw, "_PAGE", 1000)  # ranges of a page or more each: 3 of 3,200 files
    assert s3_raw.split_points(_state(), "r/", "r/m_0997/1/model.py") == ["r/m_1066/1/model.py", "r/n_gone/ü0933"]
    assert s3_raw.split_points(_state(), "r/", "r/zzz") == []
    assert s3_raw.split_points(None, "r/", "") == [] and s3_raw.split_points(b"<html>", "r/", "") == []
    few = json.dumps({"format": 1, "files": {p: {} for p in MODELS}}, indent=1).encode()
    assert s3_raw.split_points(few, "r/", "") == []  # fewer than RANGED_FROM files: one loop


# Names a model's files may have, as they reach the state: quotes, backslashes, JSON's escapes,
# unicode (escaped as \uXXXX, a surrogate pair past the BMP), a name that is not UTF-8 on disk
# (a lone surrogate), and look-alikes of the state's own layout.
AWKWARD = ['a"quote', "back\\slash", 'end\\', '\\"', "tab\tand\nnewline", "ctrl\x01\x7f", "ü", "漢字",
           "\U0001F600", "bad\udcff", ' "not": {', '": {', "{}", "a b", "", "  x"]


def test_split_points_find_exactly_the_paths_of_a_state_the_sync_writes():
    """split_points reads the paths out of the state's bytes with a pattern (_STATE_PATH) made for
    State.to_bytes's layout, not with a JSON parser: a change of that layout must fail here, not
    quietly turn the ranged listing off (no path found: one loop) or split it at wrong keys."""
    paths = [f"m_{i:04d}/1/{name}" for i in range(s3_raw.RANGED_FROM // len(AWKWARD) + 1) for name in AWKWARD]
    paths += [f"{name}/1/model.py" for name in AWKWARD]
    state = State({path: Record(i, f"{i:064x}", f"{i:032x}", f"stamp {name}", pending=i % 2 == 0)
                   for i, (path, name) in enumerate(zip(paths, AWKWARD * len(paths)))},
                  revision='rev "x" \\', manifest='models "yaml" \\', synced_at="now", ensembles=['e"ns', "ü"])
    raw = state.to_bytes()
    assert State.from_bytes(raw).files == state.files  # the state as a sync reads it back
    found = [json.loads(b'"' + match + b'"') for match in s3_raw._STATE_PATH.findall(raw)]
    assert found == sorted(paths) and len(found) >= s3_raw.RANGED_FROM
    every = sorted(paths)  # the state's order; S3's is that of the UTF-8 bytes
    expected = {f"r/{every[len(every) * i // s3_raw.RANGES]}" for i in range(1, s3_raw.RANGES)}
    points = s3_raw.split_points(raw, "r/", "")
    assert points == sorted(expected, key=lambda key: key.encode("utf-8", "surrogatepass")) and len(points) == 7


@pytest.mark.emulators
@pytest.mark.parametrize("ranges", [2, 8])
def test_the_ranged_listing_is_the_single_loops(s3_emulator, ranged_bucket, spy, monkeypatch, ranges):
    monkeypatch.setattr(s3_raw, "RANGES", ranges)
    plain, sdk = _targets(s3_emulator, f"{ranged_bucket}/r")
    seen = s3_raw.read_target(plain, environ={})
    assert spy and spy[0], "the listing was read in ranges"
    assert seen is not None and seen == read_target(sdk, list_objects) == read_target(sdk)
    assert list(seen[1].files) == list(read_target(sdk)[1].files)  # the same order too
    assert set(seen[1].files) == {key.rstrip("/") for key in MODELS + FOREIGN}  # "dir/": a folder marker
    monkeypatch.setattr(s3_raw, "RANGED_FROM", 10**9)
    spy.clear()
    assert s3_raw.read_target(plain, environ={}) == seen and spy == []  # the single loop's answer


@pytest.mark.emulators
@pytest.mark.parametrize("failing", ["start-after", "continuation-token"])
def test_a_range_that_fails_leaves_the_whole_read_to_the_sdk(s3_emulator, ranged_bucket, spy, failing):
    """A range's first page (start-after) or the first range's next one (after the first page's
    continuation token) answered with a 500: no partial listing, the SDK reads the target."""
    proxy = FaultProxy(s3_emulator.endpoint).start()

    def fails(method, path):
        return "list-type=2" in path and failing in path
    proxy.answer_match = (fails, "500", None)
    try:
        options = s3_emulator.storage_options()
        options["client_kwargs"] = dict(options["client_kwargs"], endpoint_url=proxy.endpoint)
        plain = Target("", f"s3://{ranged_bucket}/r", None, "", False, endpoint=proxy.endpoint, options=options,
                       timeout=30.0)
        assert s3_raw.read_target(plain, environ={}) is None
    finally:
        proxy.stop()
    assert spy and proxy.faults, "a range was asked for and failed"


def _page_of(keys, truncated=False) -> bytes:
    contents = "".join(f"<Contents><Key>{key}</Key><ETag>&quot;e&quot;</ETag><Size>1</Size></Contents>" for key in keys)
    more = "<IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>" if truncated else ""
    return f'<?xml version="1.0"?><ListBucketResult>{contents}{more}</ListBucketResult>'.encode()


def test_a_store_that_sorts_otherwise_is_left_to_the_sdk():
    """The bounds assume S3's order (UTF-8 bytes: an emoji after U+FFFD); a store answering in
    another (UTF-16's, where the emoji's surrogates come first) would have ranges overlap or
    leave gaps, so its listing is not taken."""
    def page(params):
        after = dict(params).get("start-after")
        if after is None:
            return _page_of(["r/b"])  # range 0's next page, after the first one's "r/a"
        return _page_of(["r/c", "r/\U0001F600", "r/\ufffd"] if after == "r/b" else [])

    first = s3_raw.listed_pages(page, "r", s3_raw._odd)
    with pytest.raises(s3_raw.Unsupported):
        s3_raw._ranged(first, "r/a", page, "r", ["r/b"])
    in_order = s3_raw._ranged(s3_raw.listed_pages(page, "r", s3_raw._odd), "r/a", page, "r", ["r/c"])
    assert [key for key, _, _ in in_order] == ["r/b"]  # in order: taken

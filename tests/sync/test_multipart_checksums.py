"""An S3 multipart upload is checked by the store's checksum of the parts (CRC32, COMPOSITE), not
by an md5 of every part: each part goes with its CRC32, and the checksum the store reports for
the object must be the one of the parts we sent. A store that reports a wrong one gets the file
again (and a sync that keeps getting it wrong fails); a store that reports none falls back to
the md5 of the parts against the ETag, which still decides (the limits are lowered here)."""
from __future__ import annotations

import base64
import os
import zlib

import pytest

from compiler.sync import s3_parts, transfer
from compiler.sync.listing import Remote
from compiler.sync.state import STATE_NAME, State
from compiler.sync.transfer import Sent, arrived
from tests.artifacts.manifests import write_manifest
from tests.helpers import run_cli

PART = 5 << 20  # S3's (and moto's) smallest part
PATH = "m/1/model.onnx"


def _project(tmp_path, s3_emulator, monkeypatch, size=2 * PART + 12345):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    data = os.urandom(size)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.onnx").write_bytes(data)
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/model.onnx"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    return manifest, bucket, data


def _composite(data: bytes) -> str:
    crcs = [zlib.crc32(data[i:i + PART]) for i in range(0, len(data), PART)]
    return s3_parts.composite(crcs)


def _count_pumps(monkeypatch) -> list:
    calls: list = []
    real = transfer._pump

    def pump(src, out, want, block=transfer.BLOCK, whole=True):
        calls.append(whole)
        return real(src, out, want, block, whole)
    monkeypatch.setattr(transfer, "_pump", pump)
    return calls


def _answers(monkeypatch, rewrite):
    """s3_parts.upload, its answer rewritten by `rewrite(answer, attempt)` (a store's answer)."""
    real, attempts = s3_parts.upload, []

    def upload(*args):
        answer, ours = real(*args)
        attempts.append(answer.get(s3_parts.CHECKSUM))
        return rewrite(dict(answer), len(attempts)), ours
    monkeypatch.setattr(s3_parts, "upload", upload)
    return attempts


@pytest.mark.emulators
def test_a_multipart_upload_is_checked_by_the_stores_checksum_not_by_md5s(tmp_path, s3_emulator, monkeypatch):
    manifest, bucket, data = _project(tmp_path, s3_emulator, monkeypatch)
    pumps = _count_pumps(monkeypatch)
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    assert pumps == []  # the file was read once, by the upload: no md5 of the parts
    fs = s3_emulator.fs()
    assert fs.cat_file(f"{bucket}/repo/{PATH}") == data
    head = fs.call_s3("head_object", Bucket=bucket, Key=f"repo/{PATH}", ChecksumMode="ENABLED")
    # the object carries the CRC32 of its parts, as the store computed it (moto leaves out "-N")
    assert head["ChecksumCRC32"] == _composite(data).rsplit("-", 1)[0]
    record = State.from_bytes(fs.cat_file(f"{bucket}/repo/{STATE_NAME}")).files[PATH]
    assert not record.pending and record.stamp == head["ETag"].strip('"') and record.stamp.endswith("-3")
    code, out, err = run_cli("sync", manifest, "--target", "t")  # the stamp is the ETag, as before
    assert code == 0 and "in sync, nothing to do" in out, out + err


@pytest.mark.emulators
def test_a_wrong_checksum_from_the_store_sends_the_file_again(tmp_path, s3_emulator, monkeypatch):
    manifest, bucket, data = _project(tmp_path, s3_emulator, monkeypatch)
    wrong = base64.b64encode(b"\0\0\0\0").decode() + "-3"
    attempts = _answers(monkeypatch, lambda answer, n: {**answer, s3_parts.CHECKSUM: wrong} if n == 1 else answer)
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    assert len(attempts) == 2 and f"{PATH} did not read back as sent; sending it again" in err
    assert s3_emulator.fs().cat_file(f"{bucket}/repo/{PATH}") == data


@pytest.mark.emulators
def test_a_store_that_keeps_answering_a_wrong_checksum_fails_the_sync(tmp_path, s3_emulator, monkeypatch):
    manifest, bucket, _ = _project(tmp_path, s3_emulator, monkeypatch)
    wrong = base64.b64encode(b"\0\0\0\0").decode() + "-3"
    _answers(monkeypatch, lambda answer, n: {**answer, s3_parts.CHECKSUM: wrong})
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 1 and f"{PATH} does not read back as sent" in out + err, out + err
    assert not s3_emulator.fs().exists(f"{bucket}/repo/m/config.pbtxt")  # no config names the file


@pytest.mark.emulators
def test_a_store_without_checksums_is_checked_by_the_md5s_of_the_parts(tmp_path, s3_emulator, monkeypatch):
    manifest, bucket, data = _project(tmp_path, s3_emulator, monkeypatch)
    _answers(monkeypatch, lambda answer, n: {**answer, s3_parts.CHECKSUM: None})  # it ignored ChecksumAlgorithm
    pumps = _count_pumps(monkeypatch)
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    assert pumps == [False]  # one more read of the file, for the parts' md5s against the ETag
    record = State.from_bytes(s3_emulator.fs().cat_file(f"{bucket}/repo/{STATE_NAME}")).files[PATH]
    assert not record.pending and record.stamp.endswith("-3")


@pytest.mark.emulators
def test_without_checksums_an_etag_that_differs_still_fails_the_sync(tmp_path, s3_emulator, monkeypatch):
    # the fallback is a check, not a pass: an object whose ETag is not md5(our parts' md5s) is
    # not taken for ours (here our md5s are made to differ, as if other bytes were stored)
    manifest, _, _ = _project(tmp_path, s3_emulator, monkeypatch)
    _answers(monkeypatch, lambda answer, n: {**answer, s3_parts.CHECKSUM: None})
    real = transfer._pump

    def other_md5s(src, out, want, block=transfer.BLOCK, whole=True):
        sent = real(src, out, want, block, whole)
        return Sent(sent.size, sent.md5, "0" * 32 + "-3")
    monkeypatch.setattr(transfer, "_pump", other_md5s)
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 1 and f"{PATH} does not read back as sent" in out + err, out + err


def test_what_a_checksum_answer_proves():
    ours = s3_parts.composite([1, 2, 3])
    base = ours.rsplit("-", 1)[0]
    remote = Remote(10, "abc-3", None)

    def sent(reported, etag="abc-3", parts_etag=None):
        return Sent(10, "", answer={"ETag": f'"{etag}"', "size": 10, s3_parts.CHECKSUM: reported},
                    checksum=ours, parts_etag=parts_etag)

    assert arrived(remote, sent(ours)) and sent(ours).answered()
    assert arrived(remote, sent(base)) and sent(base).answered()  # moto: without "-N"
    assert not arrived(remote, sent(base[::-1] + "-3")) and not sent(base[::-1] + "-3").answered()
    assert not arrived(remote, sent(ours, etag="other-3"))  # the object listed is not the one answered for
    assert not arrived(Remote(11, "abc-3", None), sent(ours))
    # none, or another kind (no "-N", another value): the ETag decides, through the parts' md5s
    for reported in (None, "", "AAAAAA=="):
        assert not sent(reported).answered()
        assert arrived(remote, sent(reported, parts_etag=lambda: "abc-3"))
        assert not arrived(remote, sent(reported, parts_etag=lambda: "abd-3"))


"""A file above the one-request limit goes up as an S3 multipart upload, parts in parallel, and
arrives intact (the limits are lowered here: the real ones are 32 MiB and 16 MiB parts)."""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
import time

import pytest
import s3fs

from compiler.sync import s3_parts, transfer
from compiler.sync.state import STATE_NAME, State
from tests.artifacts.manifests import write_manifest
from tests.helpers import run_cli

pytestmark = pytest.mark.emulators

PART = 5 << 20  # S3's (and moto's) smallest part


def test_a_file_above_the_multipart_limit_arrives_intact(tmp_path, s3_emulator, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "2")  # the run's Settings.part_jobs, down to the upload
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    options: list = []
    plain_upload = s3_parts.upload
    monkeypatch.setattr(s3_parts, "upload", lambda fs, source, dest, part, jobs, *rest: options.append(
        (part, jobs)) or plain_upload(fs, source, dest, part, jobs, *rest))
    data = os.urandom(2 * PART + 12345)  # three parts, the last one short
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.onnx").write_bytes(data)
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/model.onnx"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    # moto's access log, not its recorder: the recorder keeps every body, and parts sent in
    # parallel can interleave its lines.
    offset = s3_emulator.log_path.stat().st_size
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    key = f"/{bucket}/repo/m/1/model.onnx"
    time.sleep(0.2)  # let the access log catch up
    with open(s3_emulator.log_path, "rb") as log:
        log.seek(offset)
        lines = re.sub(r"\x1b\[[0-9;]*m", "", log.read().decode(errors="replace")).splitlines()
    parts = [line for line in lines if f'"PUT {key}?' in line and "partNumber=" in line]
    assert len(parts) == 3, lines  # a multipart upload of BLOCK-sized parts
    fs = s3_emulator.fs()
    assert hashlib.sha256(fs.cat_file(key.lstrip("/"))).digest() == hashlib.sha256(data).digest()
    record = State.from_bytes(fs.cat_file(f"{bucket}/repo/{STATE_NAME}")).files["m/1/model.onnx"]
    assert not record.pending and record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.stamp.endswith("-3")  # the multipart ETag, as the store wrote it
    assert options == [(PART, 2)]
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0 and "in sync, nothing to do" in out, out + err


def test_a_big_file_changed_while_it_is_sent_is_not_recorded_as_sent(tmp_path, s3_emulator, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    source = tmp_path / "src" / "model.onnx"
    source.parent.mkdir()
    source.write_bytes(os.urandom(2 * PART + 1))
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/model.onnx"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    real_put = transfer.put_large

    def edit_meanwhile(fs, src, dest, want, *rest, **options):
        with open(src, "r+b") as handle:  # what a concurrent writer does: same size, new bytes
            handle.write(b"changed")
        return real_put(fs, src, dest, want, *rest, **options)

    monkeypatch.setattr(transfer, "put_large", edit_meanwhile)
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 1 and "changed while it was being sent" in out + err, out + err
    assert "configs" not in out
    assert not s3_emulator.fs().exists(f"{bucket}/repo/m/config.pbtxt")  # no config names the file


def test_the_memory_budget_bounds_the_big_files_in_flight(tmp_path, s3_emulator, monkeypatch):
    # A big file holds its parts in flight (part_jobs x part size) while it goes up: a budget
    # of two such files lets two go up together and stops a third, whatever --jobs says.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "2")
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    monkeypatch.setattr(transfer, "MEMORY_BUDGET", 2 * 2 * PART)
    monkeypatch.setattr(transfer, "MEMORY", transfer._Budget(2 * 2 * PART))
    folder = tmp_path / "src" / "v1"
    folder.mkdir(parents=True)
    data = {name: os.urandom(2 * PART + 1) for name in ("model.onnx", "a.bin", "b.bin")}
    for name, content in data.items():
        (folder / name).write_bytes(content)
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/v1"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    real_put, lock, together = transfer.put_large, threading.Condition(), {"now": 0, "most": 0}

    def counted(*args, parts_sent):
        # a file counts while its parts go: from the start until they are all sent (its budget
        # given back then, before the complete) or it ends
        left: list = []

        def leave():
            with lock:
                if not left:
                    left.append(True)
                    together["now"] -= 1

        def sent():
            leave()
            parts_sent()

        with lock:
            together["now"] += 1
            together["most"] = max(together["most"], together["now"])
            lock.wait_for(lambda: together["now"] >= 3, timeout=3)  # give a third file the time to start
            lock.notify_all()
        try:
            return real_put(*args, parts_sent=sent)
        finally:
            leave()

    monkeypatch.setattr(transfer, "put_large", counted)
    code, out, err = run_cli("sync", manifest, "--target", "t", "--jobs", "8")
    assert code == 0, out + err
    assert together["most"] == 2, together  # never three: their parts would not fit the budget
    fs = s3_emulator.fs()
    for name, content in data.items():
        assert fs.cat_file(f"{bucket}/repo/m/1/{name}") == content


def test_the_next_big_file_sends_its_parts_while_the_store_completes_the_first(tmp_path, s3_emulator, monkeypatch):
    # The budget holds one file's parts: the second file's wait for it must end when the first
    # file's parts are sent, not when its complete returns (which on moto takes seconds per GiB).
    # Each complete waits (up to a timeout, so that a regression fails rather than hangs) for a
    # part of the other file to be sent.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "2")
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    monkeypatch.setattr(transfer, "MEMORY_BUDGET", 2 * PART)
    monkeypatch.setattr(transfer, "MEMORY", transfer._Budget(2 * PART))
    folder = tmp_path / "src" / "v1"
    folder.mkdir(parents=True)
    data = {name: os.urandom(2 * PART + 1) for name in ("model.onnx", "model.onnx.data")}
    for name, content in data.items():
        (folder / name).write_bytes(content)
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/v1"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    real_call, events = s3fs.S3FileSystem._call_s3, []

    async def call_s3(self, method, *args, **kwargs):
        key = kwargs.get("Key")
        if method == "upload_part":
            events.append(("part", key))
        if method != "complete_multipart_upload":
            return await real_call(self, method, *args, **kwargs)
        waited = time.monotonic()
        while not any(what == "part" and other != key for what, other in events) and time.monotonic() - waited < 5:
            await asyncio.sleep(0.02)  # the event loop stays free for the other file's parts
        answer = await real_call(self, method, *args, **kwargs)
        events.append(("completed", key))
        return answer

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", call_s3)
    code, out, err = run_cli("sync", manifest, "--target", "t", "--jobs", "2")
    assert code == 0, out + err
    first = next(i for i, (what, _) in enumerate(events) if what == "completed")
    assert {key for what, key in events[:first] if what == "part"} == {
        f"repo/m/1/{name}" for name in data}, events  # both files' parts went before the first complete
    fs = s3_emulator.fs()
    for name, content in data.items():
        assert fs.cat_file(f"{bucket}/repo/m/1/{name}") == content


def test_the_budget_is_never_exceeded_nor_given_back_twice():
    budget = transfer._Budget(10)
    most, second_in = [0], threading.Event()

    def second():
        with budget.hold(6):
            most[0] = max(most[0], budget.used)
            second_in.set()

    with budget.hold(6) as held:
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not second_in.wait(0.2) and budget.used == 6  # 6 + 6 > 10: the second one waits
        held.release()  # the first file's parts are sent: given back before the block ends
        assert second_in.wait(5)
        waiting.join(5)
        held.release()  # again: nothing more
        assert budget.used == 0
    assert budget.used == 0 and most[0] == 6  # the block's end gave back nothing more either
    with budget.hold(4), budget.hold(6):
        assert budget.used == 10
    with budget.hold(50) as held:  # bigger than the budget: the whole of it, no more
        assert budget.used == 10
    held.release()
    assert budget.used == 0


def test_a_file_of_more_than_max_parts_blocks_gets_bigger_parts(tmp_path, s3_emulator, monkeypatch):
    # S3 takes at most 10,000 parts (a 156 GiB file at 16 MiB): lowered here to 3.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)
    monkeypatch.setattr(transfer, "BLOCK", PART)
    monkeypatch.setattr(transfer, "MAX_PARTS", 3)
    data = os.urandom(4 * PART + 1)  # 5 parts of PART; in 3 parts: 7 MiB, the smallest whole MiB
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.onnx").write_bytes(data)
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(tmp_path, {1: "src/model.onnx"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    fs = s3_emulator.fs()
    assert fs.cat_file(f"{bucket}/repo/m/1/model.onnx") == data
    record = State.from_bytes(fs.cat_file(f"{bucket}/repo/{STATE_NAME}")).files["m/1/model.onnx"]
    assert not record.pending and record.stamp.endswith("-3")  # checked against the ETag of 3 parts
    assert transfer.part_size(4 * PART + 1) == 7 << 20

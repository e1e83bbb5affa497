"""bench/s3_replay.py: a real store's answers (moto) recorded through the proxy, replayed byte for
byte whoever signs the request, and a request without a recording refused loudly (501
NotRecorded, listed in the stats), never answered with something made up."""
from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import boto3
import pytest

from bench.s3_replay import Recorder, Replay, load, request_key, stats_of


def _presigned(s3_emulator, endpoint: str, operation: str, params: dict) -> str:
    """The path and query of a request to `endpoint` presigned by boto3 (its own signature each time)."""
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=s3_emulator.key,
                          aws_secret_access_key=s3_emulator.secret, region_name=s3_emulator.region)
    parts = urlsplit(client.generate_presigned_url(operation, Params=params))
    return f"{parts.path}?{parts.query}"


def _ask(endpoint: str, target: str, method: str = "GET") -> tuple[int, bytes]:
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, target)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def _requests(bucket: str) -> dict:
    return {"object": ("get_object", {"Bucket": bucket, "Key": "m/a.txt"}),
            "listing": ("list_objects_v2", {"Bucket": bucket, "Prefix": "m/"})}


def test_request_key_leaves_the_signature_out_and_sorts_the_query():
    one = request_key("GET", "/b/k?X-Amz-Signature=aa&prefix=m%2F&X-Amz-Date=1&list-type=2")
    other = request_key("GET", "/b/k?list-type=2&prefix=m%2F&X-Amz-Signature=bb&X-Amz-Date=2")
    v2 = request_key("GET", "/b/k?AWSAccessKeyId=a&Signature=c%3D&Expires=17&prefix=m%2F&list-type=2")
    assert one == other == v2 == "GET /b/k?list-type=2&prefix=m%2F"
    assert request_key("HEAD", "/b/k") != request_key("GET", "/b/k")
    assert request_key("GET", "/b/k?prefix=a") != request_key("GET", "/b/k?prefix=b")


@pytest.fixture
def recording(s3_emulator, tmp_path):
    """A bucket of two objects read once through a Recorder: (the saved recording, the bucket,
    {request name: what moto answered})."""
    bucket = s3_emulator.make_bucket()
    s3_emulator.fs().pipe({f"{bucket}/m/a.txt": b"alpha", f"{bucket}/m/b.txt": b"beta"})
    recorder = Recorder(s3_emulator.endpoint).start()
    try:
        seen = {name: _ask(recorder.endpoint, _presigned(s3_emulator, recorder.endpoint, *request))
                for name, request in _requests(bucket).items()}
        assert stats_of(recorder.endpoint)["requests"] == 2
    finally:
        recorder.stop()
    path = tmp_path / "recording.json"
    recorder.save(path)
    return path, bucket, seen


def test_replay_answers_as_recorded_and_refuses_what_was_not(s3_emulator, recording):
    path, bucket, seen = recording
    assert seen["object"] == (200, b"alpha")
    assert b"<Key>m/b.txt</Key>" in seen["listing"][1]
    replay = Replay(load(path)).start()
    try:
        time.sleep(1.1)  # a presigned URL of another second: another signature, the same request
        for name, request in _requests(bucket).items():
            assert _ask(replay.endpoint, _presigned(s3_emulator, replay.endpoint, *request)) == seen[name]
        status, body = _ask(replay.endpoint, f"/{bucket}/m/b.txt")  # never asked while recording
        assert status == 501 and b"<Code>NotRecorded</Code>" in body
        assert _ask(replay.endpoint, f"/{bucket}/m/b.txt", "HEAD")[0] == 501
        stats = stats_of(replay.endpoint)
        assert stats["unrecorded"] == [f"GET /{bucket}/m/b.txt", f"HEAD /{bucket}/m/b.txt"]
        assert stats["requests"] == 4 and stats["cpu"] > 0
    finally:
        replay.stop()


def test_replay_waits_the_latency_before_each_answer(s3_emulator, recording):
    path, bucket, seen = recording
    replay = Replay(load(path), latency=0.3).start()
    try:
        started = time.perf_counter()
        assert _ask(replay.endpoint, _presigned(s3_emulator, replay.endpoint, *_requests(bucket)["object"])) == seen["object"]
        assert time.perf_counter() - started >= 0.3
    finally:
        replay.stop()

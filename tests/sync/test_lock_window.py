"""Object stores: the plan made before the lock stands under it only if no sync wrote in between
(engine.unchanged_since): the state reads back the same and no one held the lock. A sync that
fails part way leaves that trace in the state (Applier.record_interrupted)."""
from __future__ import annotations

import hashlib

import pytest

from compiler.sync import target_lock as lock_module
from compiler.sync.apply import RemoteWriter
from compiler.sync.listing import fingerprint
from compiler.sync.state import LOCK_NAME, STATE_NAME, Record, State
from tests.artifacts.servers import moto_requests

pytestmark = pytest.mark.emulators

CHANGED = "text_classifier/3/model.py"  # our sync's own change
OTHER = "text_classifier/2/model.py"  # what another sync rewrites while ours plans


def _edit(project, rel: str, old: str, new: str) -> None:
    source = project.folder / "examples" / rel
    source.write_text(source.read_text().replace(old, new))


def _lists(requests, bucket: str) -> int:
    return sum(1 for method, path, _ in requests if method == "GET" and path.startswith(f"/{bucket}?list-type"))


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_one_changed_file_is_planned_once_when_no_sync_ran_meanwhile(project, backend):
    assert project.cli("sync")[0] == 0
    _edit(project, CHANGED, "TEMPERATURE", "TEMPERATURE_")
    bucket = backend.root.split("/")[0]
    with moto_requests(backend.emulator) as recorded:
        code, out, err = project.cli("sync")
        requests = recorded()
    assert code == 0, out + err
    assert backend.files() == project.expected()
    assert _lists(requests, bucket) == 1, requests  # the listing made before the lock still held
    heads = [path for method, path, _ in requests if method == "HEAD"]
    assert heads == []  # the PutObject's ETag (the md5 of what was stored) verified the file


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_a_sync_that_finished_between_our_listing_and_our_lock_makes_us_look_again(project, backend, monkeypatch):
    assert project.cli("sync")[0] == 0
    _edit(project, CHANGED, "TEMPERATURE", "TEMPERATURE_")
    theirs = b"# another manifest's file\n"
    real_acquire = lock_module.TargetLock.acquire

    def another_sync_first(self, *args, **kwargs):
        # What a sync of another manifest leaves: OTHER rewritten, and the state saying so.
        backend.write(OTHER, theirs)
        state = State.from_bytes(backend.read(STATE_NAME))
        seen = fingerprint(backend.fs.info(backend.path(OTHER)))
        state.files[OTHER] = Record(len(theirs), hashlib.sha256(theirs).hexdigest(), seen.md5 or "", seen.stamp)
        backend.write(STATE_NAME, state.to_bytes())
        monkeypatch.setattr(lock_module.TargetLock, "acquire", real_acquire)
        return real_acquire(self, *args, **kwargs)

    monkeypatch.setattr(lock_module.TargetLock, "acquire", another_sync_first)
    code, out, err = project.cli("sync")
    assert code == 0, out + err
    # Planned from the first listing alone, OTHER (unchanged in our manifest) would keep their bytes.
    assert backend.files() == project.expected()


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_a_lock_seen_in_our_listing_makes_us_look_again(project, backend, monkeypatch):
    """A sync that held the lock when we listed may have written since, even if it failed
    without a state: the plan is made again under our lock."""
    assert project.cli("sync")[0] == 0
    _edit(project, CHANGED, "TEMPERATURE", "TEMPERATURE_")
    backend.write(LOCK_NAME, b'{"id": "gone", "expires_epoch": 0}')  # expired: taken over at once
    bucket = backend.root.split("/")[0]
    with moto_requests(backend.emulator) as recorded:
        code, out, err = project.cli("sync")
        requests = recorded()
    assert code == 0, out + err
    assert "taking over a stale lock" in out + err
    assert _lists(requests, bucket) == 2
    assert backend.files() == project.expected() and not backend.exists(LOCK_NAME)


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_a_sync_failing_part_way_marks_what_it_set_out_to_send(project, backend, monkeypatch):
    assert project.cli("sync")[0] == 0
    before = backend.read(STATE_NAME)
    _edit(project, CHANGED, "TEMPERATURE", "TEMPERATURE_")
    real_put = RemoteWriter.put

    def fail_on_configs(self, change):
        if change.kind == "config":
            raise PermissionError("denied (test)")
        return real_put(self, change)

    monkeypatch.setattr(RemoteWriter, "put", fail_on_configs)
    project.models["text_classifier"]["max_batch_size"] = 16  # a config to write after the file
    project.save()
    code, out, err = project.cli("sync")
    assert code == 1 and "denied (test)" in out + err, out + err
    after = backend.read(STATE_NAME)
    assert after != before
    assert State.from_bytes(after).files[CHANGED].pending
    assert not backend.exists(LOCK_NAME)  # recorded, so the lock could go

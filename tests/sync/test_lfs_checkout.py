"""A fresh checkout of an LFS-tracked model (empty hash index) syncs to S3 without reading its big
files for their sha256: the digests come from the pointers git vouches for, and the right bytes
arrive (moto; real git and git-lfs)."""
from __future__ import annotations

import hashlib
import os

import pytest

from compiler.artifacts import file_digest
from compiler.sync import transfer
from compiler.sync.state import STATE_NAME, State
from tests.artifacts.lfs_repo import MIB, lfs_repo, needs_git_lfs, small_threshold
from tests.artifacts.manifests import write_manifest
from tests.helpers import run_cli

pytestmark = [pytest.mark.emulators, needs_git_lfs]
__all__ = ["small_threshold"]  # a fixture, used by name

PART = 5 << 20  # S3's (and moto's) smallest part


def test_an_lfs_checkout_syncs_the_right_bytes_without_hashing_them_first(tmp_path, s3_emulator, small_threshold,
                                                                         monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty hash index
    monkeypatch.setattr(transfer, "STREAM_LIMIT", 1 << 20)  # multipart, as a big file goes
    monkeypatch.setattr(transfer, "BLOCK", PART)
    data = {"model.onnx": os.urandom(PART + 4321), "model.onnx.data": os.urandom(2 * MIB + 1)}
    repo = lfs_repo(tmp_path / "repo", {f"src/v1/{name}": content for name, content in data.items()})
    read: list = []
    real = file_digest.sha256_file
    monkeypatch.setattr(file_digest, "sha256_file", lambda path: read.append(os.path.basename(path)) or real(path))
    bucket = s3_emulator.make_bucket()
    manifest = write_manifest(repo, {1: "src/v1"}, targets={
        "t": {"url": f"s3://{bucket}/repo", "storage_options": s3_emulator.storage_options()}})
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0, out + err
    assert read == []  # neither big file was read for its sha256
    fs = s3_emulator.fs()
    state = State.from_bytes(fs.cat_file(f"{bucket}/repo/{STATE_NAME}"))
    for name, content in data.items():
        assert hashlib.sha256(fs.cat_file(f"{bucket}/repo/m/1/{name}")).digest() == hashlib.sha256(content).digest()
        record = state.files[f"m/1/{name}"]
        assert not record.pending and record.sha256 == hashlib.sha256(content).hexdigest()
    code, out, err = run_cli("sync", manifest, "--target", "t")
    assert code == 0 and "in sync, nothing to do" in out, out + err

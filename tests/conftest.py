"""Shared fixtures: a real tritonserver factory and storage emulators.

    def test_x(triton_server, tmp_path):
        srv = triton_server(repo_dir, "--model-control-mode=explicit", wait="live")
        status, body = srv.get("/v2/health/ready")

    def test_y(s3_emulator):          # also gcs_emulator, azure_emulator
        bucket = s3_emulator.make_bucket()
        fs = s3_emulator.fs()          # or fsspec.filesystem("s3", **s3_emulator.storage_options())
        subprocess.run([...], env={**os.environ, **s3_emulator.env()})

See tests/support/triton.py and tests/support/emulators.py for details.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# gcsfs must see this before its first bucket call, otherwise every bucket
# operation against the GCS emulator stalls for ~60 s (see support/emulators.py).
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

# Tests never touch the user's real artifact/hash caches: one throw-away cache per run
# (subprocesses inherit it through the environment).
if "TRITON_GITOPS_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["TRITON_GITOPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="triton-gitops-test-cache-")

# The storage policy (compiler/storage/policy.py) is the test runner's, as a workflow would set
# it: the tests' own variables (TG_*), and each emulator's endpoint once it has started.
os.environ.setdefault("TRITON_GITOPS_ALLOWED_ENV", "TG_*")

# Make `support` importable whether or not tests/ becomes a package later.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.emulators import AzureEmulator, GCSEmulator, S3Emulator, SeaweedEmulator
from support.triton import TritonServer, tritonserver_binary


@pytest.fixture
def triton_server(tmp_path):
    """Factory: start(repo, *extra_args, env=None, wait="ready", timeout=60).

    Returns a started TritonServer (log in tmp_path/tritonserver-N.log);
    every server started through it is stopped at teardown.  Skips the test
    only when the tritonserver binary itself is not installed.
    """
    if tritonserver_binary() is None:
        pytest.skip("tritonserver binary not installed (nvidia-pytriton missing; "
                    "run scripts/bootstrap.sh)")
    servers: list[TritonServer] = []

    def start(repo, *extra_args, env=None, wait="ready", timeout=60.0) -> TritonServer:
        log = tmp_path / f"tritonserver-{len(servers) + 1}.log"
        server = TritonServer(repo, *extra_args, env=env, log_path=log,
                              wait=wait, timeout=timeout)
        servers.append(server)
        return server.start()

    yield start
    for server in reversed(servers):
        server.stop()


def _emulator(cls, tmp_path_factory):
    emulator = cls(tmp_path_factory.mktemp(cls.name))
    try:
        emulator.start()
    except Exception:
        emulator.stop()
        raise
    allowed = os.environ.get("TRITON_GITOPS_ALLOWED_ENDPOINTS", "")
    os.environ["TRITON_GITOPS_ALLOWED_ENDPOINTS"] = f"{allowed} {emulator.endpoint}".strip()
    return emulator


@pytest.fixture(scope="session")
def s3_emulator(tmp_path_factory):
    """moto S3 server on 127.0.0.1 (started on first use, stopped at session end)."""
    emulator = _emulator(S3Emulator, tmp_path_factory)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def seaweedfs_emulator(tmp_path_factory):
    """SeaweedFS (`weed mini`) on 127.0.0.1: a second, real S3 implementation (started on first use)."""
    emulator = _emulator(SeaweedEmulator, tmp_path_factory)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory):
    """gcp-storage-emulator on 127.0.0.1 (started on first use)."""
    emulator = _emulator(GCSEmulator, tmp_path_factory)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def azure_emulator(tmp_path_factory):
    """Azurite blob service on 127.0.0.1 (started on first use)."""
    emulator = _emulator(AzureEmulator, tmp_path_factory)
    yield emulator
    emulator.stop()

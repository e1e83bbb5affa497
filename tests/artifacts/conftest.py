"""Every artifact test gets its own empty download cache."""
from __future__ import annotations

import pytest

from compiler.artifacts import fetch


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(cache))
    monkeypatch.setattr(fetch, "BACKOFF", 0.01)  # retries are tested; their waits need not be long
    return cache

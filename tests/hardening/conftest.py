from __future__ import annotations

import pytest

from tests.hardening.harness import Workspace


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """One sandbox per module; every case rewrites its manifest and clears its destination.
    Nested one level, so that a source of ".." names a folder holding only the workspace."""
    return Workspace(tmp_path_factory.mktemp("hardening") / "ws")

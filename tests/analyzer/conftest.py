from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CSV_RUN = FIXTURES / "csv_run"
CHECKPOINT_RUN = FIXTURES / "checkpoint_run"


@pytest.fixture
def csv_run(tmp_path) -> Path:
    """A copy of the CSV fixture, for tests that change it."""
    return Path(shutil.copytree(CSV_RUN, tmp_path / "analysis"))

"""The run's settings (compiler/artifacts/settings.py): read from the options and the
environment once, by `Settings.for_run`; a value that makes no sense stops the run, explained."""
from __future__ import annotations

import pytest

from compiler.artifacts.settings import DEFAULT_PART_JOBS, Settings
from compiler.errors import FatalError
from tests.helpers import run_cli, write


def test_part_jobs_come_from_the_environment_once(monkeypatch):
    monkeypatch.delenv("TRITON_GITOPS_PART_JOBS", raising=False)
    assert Settings.for_run().part_jobs == DEFAULT_PART_JOBS == Settings().part_jobs
    for text, value in (("1", 1), (" 12 ", 12), ("", DEFAULT_PART_JOBS)):
        monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", text)
        settings = Settings.for_run()
        assert settings.part_jobs == value
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "3")
    settings = Settings.for_run()
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "5")
    assert settings.part_jobs == 3  # read once, when the run's settings were made


@pytest.mark.parametrize("text", ["0", "-2", "four", "1.5", "4x"])
def test_part_jobs_that_make_no_sense_are_refused(monkeypatch, text):
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", text)
    with pytest.raises(FatalError, match=r"TRITON_GITOPS_PART_JOBS=.*not a whole number of at least 1"):
        Settings.for_run()


def test_the_command_says_so_and_exits_1(tmp_path, monkeypatch):
    write(tmp_path / "models.yaml", "version: 1\nmodels: {}\n")
    monkeypatch.setenv("TRITON_GITOPS_PART_JOBS", "lots")
    code, out, err = run_cli("plan", "models.yaml", "--target", "local", cwd=tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("triton-gitops: error: TRITON_GITOPS_PART_JOBS='lots': not a whole number of at least 1\n")
    assert "hint: set it to the parts of one big file to upload at once (default 4)" in err
    assert "Traceback" not in err

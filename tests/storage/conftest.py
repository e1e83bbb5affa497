"""A project in its own git work tree (review covers exactly that tree), run as the real CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.artifacts.manifests import ONNX_MODEL
from tests.helpers import REPO

# What a CI runner's environment holds: recognisable fakes, never real credentials.
RUNNER_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIARUNNERKEYID0001",
    "AWS_SECRET_ACCESS_KEY": "runnerSECRETaccessKEY/x9",
    "AWS_SESSION_TOKEN": "runnerSESSIONtoken+Zq7",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runnerOIDCrequestTOKEN42",
    "SECRET": "plainSECRETvalue77",
}


class Project:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
        (folder / "src").mkdir(exist_ok=True)
        (folder / "src" / "model.onnx").write_bytes(b"onnx bytes")
        self.manifest = folder / "models.yaml"

    def write(self, versions: dict, targets: dict | None = None, model: dict | None = None) -> Path:
        entry = dict(model or ONNX_MODEL)
        entry["versions"] = {n: (v if isinstance(v, dict) else {"source": v}) for n, v in versions.items()}
        data = {"version": 1, "models": {"m": entry}}
        if targets:
            data["targets"] = targets
        self.manifest.write_text(yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False))
        return self.manifest

    def line_of(self, text: str) -> int:
        """1-based line of the first line holding `text`."""
        return next(i for i, line in enumerate(self.manifest.read_text().splitlines(), 1) if text in line)

    def run(self, *args, env: dict | None = None, timeout: float = 120):
        """(exit code, stdout, stderr) of `triton-gitops ARGS` as a process (fork helper included)."""
        full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        for name, value in list(full.items()):
            if value is None:
                del full[name]
        result = subprocess.run([sys.executable, "-m", "compiler", *map(str, args)], cwd=self.folder, env=full,
                                capture_output=True, text=True, timeout=timeout)
        return result.returncode, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path / "project")

"""One sync suite, four backends: a local folder and S3, GCS, Azure emulators on loopback.

`backend` gives each test a fresh, empty target (its own folder or bucket) plus what the
test needs to poke at it behind the tool's back. `project` is a copy of the example
manifest whose target `t` points there, with `${ENV}` references the way a user would
write them; the variables are set for the in-process CLI and for subprocesses alike.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import pytest
import yaml

from compiler.artifacts.settings import Settings
from compiler.pipeline import load_and_build
from compiler.sync.state import LOCK_NAME, STATE_NAME
from tests.helpers import REPO, run_cli, run_json

BACKENDS = ["local", "s3", "gcs", "azure"]


def echo_model() -> dict:
    """A second model for a project (a fresh dict each time): one python version, two files."""
    return {
        "max_batch_size": 0,
        "input": [{"name": "IN", "data_type": "FP32", "dims": [2]}],
        "output": [{"name": "OUT", "data_type": "FP32", "dims": [2]}],
        "versions": {1: {"source": "examples/text_classifier/3/model.py"}},
    }


class Backend:
    """A target as the tool sees it (manifest spec) and as a test sees it (an fsspec fs)."""

    def __init__(self, name, fs, root, spec, env):
        self.name, self.fs, self.root, self.spec, self.env = name, fs, root.rstrip("/"), spec, env

    def path(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def files(self, everything: bool = False) -> dict:
        """{path: bytes} of the repository (our control files and __pycache__ left out)."""
        self.fs.invalidate_cache()
        try:
            found = self.fs.find(self.root)
        except FileNotFoundError:
            return {}
        out = {}
        for full in found:
            rel = full[len(self.root) + 1:]
            if not everything and (rel in (STATE_NAME, LOCK_NAME) or "__pycache__" in rel.split("/")):
                continue
            out[rel] = self.fs.cat_file(full)
        return out

    def read(self, rel):
        return self.fs.cat_file(self.path(rel))

    def write(self, rel, data: bytes):
        if self.name == "local":
            os.makedirs(os.path.dirname(self.path(rel)), exist_ok=True)
        self.fs.pipe_file(self.path(rel), data)

    def delete(self, rel):
        self.fs.rm_file(self.path(rel))

    def exists(self, rel) -> bool:
        self.fs.invalidate_cache()
        return self.fs.exists(self.path(rel))


def _fs(protocol, **options):
    return fsspec.filesystem(protocol, skip_instance_cache=True, use_listings_cache=False, **options)


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, monkeypatch):
    kind = request.param
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if kind == "local":
        root = tmp_path / "src" / "target" / "repo"  # inside the project's folder, as a manifest's target must be
        return Backend(kind, _fs("file"), str(root), {"url": str(root)}, {})
    emulator = request.getfixturevalue(f"{kind}_emulator")
    bucket = emulator.make_bucket(f"t-{uuid.uuid4().hex[:12]}")
    env = {"TG_BUCKET": bucket, "TG_ENDPOINT": emulator.endpoint}
    if kind == "s3":
        env.update(TG_KEY=emulator.key, TG_SECRET=emulator.secret)
        spec = {"url": "s3://${TG_BUCKET}/models",
                "storage_options": {"key": "${TG_KEY}", "secret": "${TG_SECRET}",
                                    "client_kwargs": {"endpoint_url": "${TG_ENDPOINT}",
                                                      "region_name": "us-east-1"}}}
    elif kind == "gcs":
        spec = {"url": "gs://${TG_BUCKET}/models",
                "storage_options": {"token": "anon", "endpoint_url": "${TG_ENDPOINT}"}}
    else:
        env["TG_AZURE"] = emulator.connection_string
        spec = {"url": "az://${TG_BUCKET}/models", "storage_options": {"connection_string": "${TG_AZURE}"}}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    backend = Backend(kind, _fs(emulator.protocol, **emulator.storage_options()), f"{bucket}/models", spec, env)
    backend.emulator = emulator
    return backend


class Project:
    """The example manifest and its sources in a temporary folder, with target `t`."""

    def __init__(self, folder: Path, backend: Backend):
        self.folder, self.backend = folder, backend
        shutil.copy(REPO / "models.yaml", folder / "models.yaml")
        shutil.copytree(REPO / "examples", folder / "examples", ignore=shutil.ignore_patterns("__pycache__"))
        self.manifest = folder / "models.yaml"
        self.data = yaml.safe_load(self.manifest.read_text())
        self.data["targets"] = {"t": backend.spec}
        self.save()

    def save(self):
        self.manifest.write_text(yaml.safe_dump(self.data, sort_keys=False))

    @property
    def models(self) -> dict:
        return self.data["models"]

    def cli(self, command, *args):
        return run_cli(command, self.manifest, "--target", "t", *args)

    def json(self, command, *args):
        return run_json(command, self.manifest, "--target", "t", *args)

    def expected(self) -> dict:
        loaded, tree = load_and_build(self.manifest, Settings.for_run())  # the storage policy of this environment
        assert tree is not None, [p.message for p in loaded.problems]
        return {e.path: e.data if e.data is not None else e.source.read_bytes() for e in tree.entries}

    def subprocess(self, *args, **kwargs) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        return subprocess.Popen([sys.executable, "-m", "compiler", "sync", str(self.manifest), "--target", "t",
                                 *map(str, args)], env=env, cwd=self.folder, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kwargs)


@pytest.fixture
def project(tmp_path, backend) -> Project:
    folder = tmp_path / "src"
    folder.mkdir()
    return Project(folder, backend)


@pytest.fixture(params=["fastpath", "plain"])
def both_ways(request, monkeypatch):
    """Run a test with the speed-only code on (the default) and off (TRITON_GITOPS_FASTPATH=0):
    the results must not differ. Key scenarios use it; see compiler/fastpath/."""
    monkeypatch.setenv("TRITON_GITOPS_FASTPATH", "1" if request.param == "fastpath" else "0")
    return request.param

"""Shared parts of the drift tests: a project with a local and an S3 (moto) target, synced, and
the loopback GitHub API (tests/support/github_api.py) in the environment."""
from __future__ import annotations

import pytest

from tests.helpers import run_cli
from tests.rollout.live import write_manifest, write_sources
from tests.support.github_api import GitHubApi

REPOSITORY = "acme/models"


class Project:
    def __init__(self, root, bucket, s3):
        self.root, self.bucket, self.s3 = root, bucket, s3
        self.manifest = root / "models.yaml"

    def sync(self, *targets):
        for target in targets or ("local", "prod"):
            code, out, err = run_cli("sync", self.manifest, "--target", target, "--prune")
            assert code == 0, out + err

    def drift(self, *args):
        return run_cli("drift", self.manifest, *args)

    def snapshot(self) -> tuple:
        """Every file of the local target (bytes, mtime) and every version of every S3 object
        (the bucket is versioned: any PUT or DELETE, even of the same bytes, adds one)."""
        local = {p.relative_to(self.root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
                 for p in sorted((self.root / "target").rglob("*")) if p.is_file()}
        answer = self.s3.fs().call_s3("list_object_versions", Bucket=self.bucket)
        versions = sorted((v["Key"], v["VersionId"]) for v in answer.get("Versions", []))
        markers = sorted((m["Key"], m["VersionId"]) for m in answer.get("DeleteMarkers", []))
        return local, versions, markers


@pytest.fixture
def project(tmp_path, monkeypatch, s3_emulator):
    for name, value in s3_emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = s3_emulator.make_bucket()
    s3_emulator.fs().call_s3("put_bucket_versioning", Bucket=bucket,
                             VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv("TG_BUCKET", bucket)
    write_sources(tmp_path)
    write_manifest(tmp_path, echo=False, extra_targets='  prod: {url: "s3://${TG_BUCKET}/models"}\n')
    return Project(tmp_path, bucket, s3_emulator)


@pytest.fixture
def github(monkeypatch):
    with GitHubApi(REPOSITORY) as api:
        monkeypatch.setenv("GITHUB_API_URL", api.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
        monkeypatch.setenv("GITHUB_TOKEN", api.BOT_TOKEN)
        yield api

"""Sync against an S3 emulator behind a fault-injecting proxy (tests/hardening/faultproxy.py):
storage that fails on a seeded fraction of requests, storage that goes away in the middle,
a sync killed with SIGKILL at seeded points, and two syncs started together.

What must hold: at 10% faults a sync completes and the target is byte-exact; when it
cannot complete it fails cleanly (exit 1, one located message, no traceback) and the
target is unchanged or consistent (nothing a polling Triton would load half-written);
a re-run converges to exact equality. The number of kills is HARDENING_KILLS (default 50).
"""
from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.hardening.faultproxy import FAILING, FaultProxy
from tests.hardening.syncsite import Project, loadable_problems, repository

pytestmark = pytest.mark.emulators

KILLS = int(os.environ.get("HARDENING_KILLS", "50"))
SEED = 20_251_125
# A new multi-file version folder appears on an object store file by file; the sync pins the
# model's served versions first (compiler/sync/pinning.py), so no kill may leave one that
# Triton would load half uploaded (test_a_new_version_folder_is_never_seen_half_uploaded).
HALF_UPLOADED_VERSIONS_OPEN = False
HALF_UPLOADED = "a version folder Triton would load is incomplete"


class Site:
    """A bucket behind a proxy; projects v1 and v2 whose target `t` goes through the proxy."""

    def __init__(self, emulator, tmp_path, sdk_retries=None):
        self.emulator = emulator
        self.bucket = emulator.make_bucket()
        self.root = f"{self.bucket}/models"
        self.proxy = FaultProxy(emulator.endpoint).start()
        spec = {"url": "s3://${TG_BUCKET}/models",
                "storage_options": {"key": "${TG_KEY}", "secret": "${TG_SECRET}",
                                    "client_kwargs": {"endpoint_url": "${TG_ENDPOINT}", "region_name": "us-east-1"}}}
        if sdk_retries is not None:  # fewer retries below the tool's own: failing runs give up sooner
            spec["storage_options"]["config_kwargs"] = {"retries": {"max_attempts": sdk_retries, "mode": "standard"}}
        self.env = {"TG_BUCKET": self.bucket, "TG_KEY": emulator.key, "TG_SECRET": emulator.secret,
                    "TG_ENDPOINT": self.proxy.endpoint,
                    # the workflow's storage policy allows the proxy (docs/security.md)
                    "TRITON_GITOPS_ALLOWED_ENDPOINTS": self.proxy.endpoint, "XDG_CACHE_HOME": str(tmp_path / "cache"),
                    "AWS_EC2_METADATA_DISABLED": "true"}
        self.v1 = Project(tmp_path / "v1", "v1", spec)
        self.v2 = Project(tmp_path / "v2", "v2", spec)
        self.expected = {"v1": self.v1.expected(), "v2": self.v2.expected()}

    def files(self) -> dict:
        """Everything under the target, read from the emulator directly (not through the proxy)."""
        fs = self.emulator.fs()
        try:
            found = fs.find(self.root)
        except FileNotFoundError:
            return {}
        return {path[len(self.root) + 1:]: fs.cat_file(path) for path in found}

    def sync(self, project, *args, timeout=300):
        proc = project.sync("--prune", *args, env=self.env)
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err

    def clean_sync(self, project) -> int:
        """Sync with no faults; the number of requests it took."""
        self.proxy.reset(rate=0.0)
        code, out, err = self.sync(project)
        assert code == 0, out + err
        assert repository(self.files()) == self.expected[project.folder.name]
        return self.proxy.requests


@pytest.fixture
def site(s3_emulator, tmp_path):
    site = Site(s3_emulator, tmp_path)
    yield site
    site.proxy.stop()


@pytest.fixture
def quick_site(s3_emulator, tmp_path):
    """The same, with s3fs retrying once: for tests of runs that are meant to fail."""
    site = Site(s3_emulator, tmp_path, sdk_retries=1)
    yield site
    site.proxy.stop()


def loadable(site, where: str, allow_half_uploaded: bool = False) -> int:
    """Assert the target is loadable; the number of half-uploaded version folders let through."""
    problems = loadable_problems(repository(site.files()), list(site.expected.values()))
    half = [p for p in problems if HALF_UPLOADED in p]
    if allow_half_uploaded and HALF_UPLOADED_VERSIONS_OPEN:
        problems = [p for p in problems if HALF_UPLOADED not in p]
    assert problems == [], f"{where}: {problems}"
    return len(half)


def assert_clean_failure(code, out, err):
    """Exit 1 with the tool's own one-line error: not a traceback, not an "internal error"."""
    assert code == 1, out + err
    assert "Traceback (most recent call last)" not in err and "triton-gitops: internal error" not in err, err
    assert "triton-gitops: error:" in err, err


def test_sync_completes_through_10_percent_faults_byte_exact(site):
    requests, faults = 0, 0
    for step, project in enumerate([site.v1, site.v2, site.v1, site.v2]):
        site.proxy.reset(rate=0.10, seed=SEED + step)
        code, out, err = site.sync(project)
        assert code == 0, out + err
        assert repository(site.files()) == site.expected[project.folder.name]
        requests, faults = requests + site.proxy.requests, faults + sum(site.proxy.faults.values())
    print(f"4 syncs through 10% faults: {faults} faults injected in {requests} requests, all byte-exact")
    assert faults > 0 and requests > 50, f"{faults} faults in {requests} requests: the test tested nothing"
    # and once more, now that nothing is to be done: still no change, still exact
    site.proxy.reset(rate=0.10, seed=SEED + 9)
    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]


@pytest.mark.parametrize("kinds", [("500", "503", "drop"), FAILING], ids=["nothing-done", "some-done-unanswered"])
def test_sync_through_100_percent_faults_fails_cleanly(quick_site, kinds):
    site = quick_site
    site.clean_sync(site.v1)
    before = site.files()
    site.proxy.reset(rate=1.0, seed=SEED, kinds=kinds)
    start = time.monotonic()
    code, out, err = site.sync(site.v2)
    assert_clean_failure(code, out, err)
    assert time.monotonic() - start < 120, "gave up only after a long time"
    after = site.files()
    if "drop-after" not in kinds:
        assert repository(after) == repository(before), "requests that all failed changed the target"
    loadable(site, "after a sync through 100% faults", allow_half_uploaded=True)
    site.proxy.reset(rate=0.0)
    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]


def test_storage_failing_midway_leaves_a_loadable_target_and_a_rerun_converges(quick_site):
    site = quick_site
    site.clean_sync(site.v1)
    total = site.clean_sync(site.v2)  # requests of a v1 -> v2 sync
    rng = random.Random(SEED)
    points = sorted(rng.sample(range(1, total + 4), 5))
    for n in points:
        site.clean_sync(site.v1)
        site.proxy.reset(rate=0.0, seed=SEED + n)
        site.proxy.fail_after = n
        code, out, err = site.sync(site.v2)
        if code != 0:
            assert_clean_failure(code, out, err)
        loadable(site, f"storage gone after request {n}", allow_half_uploaded=True)
    site.proxy.reset(rate=0.0)
    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]


def test_sync_killed_at_seeded_requests_leaves_a_loadable_target_and_a_rerun_converges(site):
    lengths = {"v1": site.clean_sync(site.v1)}
    lengths["v2"] = site.clean_sync(site.v2)
    rng = random.Random(SEED)
    killed = half = 0
    for i in range(KILLS):
        project = site.v1 if i % 2 else site.v2
        n = rng.randint(1, lengths[project.folder.name] + 2)
        site.proxy.reset(rate=0.0)
        proc = project.sync("--prune", env=site.env)
        site.proxy.kill_at = (n, proc.pid)
        out, err = proc.communicate(timeout=300)
        if proc.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert proc.returncode == 0, f"kill {i} at request {n}: {out}{err}"
        half += loadable(site, f"kill {i} at request {n} of a sync to {project.folder.name}",
                         allow_half_uploaded=True)
    print(f"{KILLS} syncs, {killed} killed mid-way, {half} left a half-uploaded version folder")
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} syncs were killed mid-way"
    site.proxy.reset(rate=0.0)
    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]


def test_a_new_version_folder_is_never_seen_half_uploaded(site):
    site.clean_sync(site.v1)
    site.proxy.reset(rate=0.0)
    proc = site.v2.sync("--prune", env=site.env)
    site.proxy.kill_after_match = (lambda method, path: method == "PUT" and "/preprocess/2/" in path, proc.pid)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    loadable(site, "killed right after the first file of preprocess/2 arrived")


def test_a_pruned_version_folder_is_never_seen_half_deleted(site):
    # v2 -> v1 with --prune deletes preprocess/2 (model.py, weights.bin) one object at a time;
    # preprocess keeps its config (latest 1), which serves 2 while any file of 2 is there.
    site.clean_sync(site.v2)
    site.proxy.reset(rate=0.0)
    proc = site.v1.sync("--prune", env=site.env)
    site.proxy.kill_after_match = (lambda method, path: method == "DELETE" and "/preprocess/2/" in path, proc.pid)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert "preprocess/2/" in "".join(path for _, _, path, _ in site.proxy.log)  # the kill came mid-prune
    loadable(site, "killed right after the first file of preprocess/2 was deleted")
    site.proxy.reset(rate=0.0)
    code, out, err = site.sync(site.v1)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v1"]


def test_two_syncs_started_together_end_exactly_as_one_of_them(site):
    site.clean_sync(site.v1)
    site.proxy.reset(rate=0.3, seed=SEED, kinds=("slow",))  # slow storage: the two runs overlap
    site.proxy.delay = 0.2
    first = site.v2.sync("--prune", env=site.env)
    second = site.v1.sync("--prune", env=site.env)
    results = {}
    for name, proc in (("v2", first), ("v1", second)):
        out, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, out, err)
        if proc.returncode != 0:
            assert_clean_failure(proc.returncode, out, err)
            assert "lock" in err.lower(), err
    finished = [name for name, (code, _, _) in results.items() if code == 0]
    print("two syncs together:", {name: code for name, (code, _, _) in results.items()})
    assert finished, results
    final = repository(site.files())
    assert final in (site.expected["v1"], site.expected["v2"]), "two syncs left a mix of both"
    if len(finished) == 1:
        assert final == site.expected[finished[0]]

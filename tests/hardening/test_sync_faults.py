"""Sync against an S3 emulator behind a fault-injecting proxy (tests/hardening/faultproxy.py):
storage that fails on a seeded fraction of requests, storage that goes away in the middle,
a sync killed with SIGKILL at seeded points, and two syncs started together.

What must hold: at 10% faults a sync completes and the target is byte-exact; when it
cannot complete it fails cleanly (exit 1, one located message, no traceback) and the
target is unchanged or consistent (nothing a polling Triton would load half-written);
a re-run converges to exact equality.

The suite kills each sync right after each of its writes in turn (every state a kill can leave
a clean run in); HARDENING_KILLS=N adds N kills at seeded request numbers, as scripts/soak.sh
does (docs/reliability.md).
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

SEEDED_KILLS = int(os.environ.get("HARDENING_KILLS", "0"))  # the soak run's extra kills
SEED = 20_251_125
# A new multi-file version folder appears on an object store file by file; the sync pins the
# model's served versions first (compiler/sync/pinning.py), so no kill may leave one that
# Triton would load half uploaded (test_a_new_version_folder_is_never_seen_half_uploaded).
HALF_UPLOADED_VERSIONS_OPEN = False
HALF_UPLOADED = "a version folder Triton would load is incomplete"
WRITES = ("PUT", "POST", "DELETE")  # the requests that change the store


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
        self.killed: set = set()  # the kills (test_sync_killed_...) that stopped a sync mid-way

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
        assert plain_writes(site), site.proxy.agents
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


def fail_points(log) -> list:
    """Where storage going away hurts a v1 -> v2 sync most, as request numbers of a clean run:
    right after the pin (the config written to serve only what is complete), right after the
    first file of the new version folder, and right after the configs are written back (the
    prune and the state still to do)."""
    def config(path):
        return path.endswith("/config.pbtxt") or "/configs/" in path

    writes_ = [(n, path) for n, method, path, _ in log if method in WRITES]
    configs = [n for n, path in writes_ if config(path)]
    files = [n for n, path in writes_ if not config(path) and ".triton-gitops-" not in path]
    assert len(configs) >= 2 and files, log  # the pin, the files, the config written back
    return [configs[0], files[0], configs[-1]]


def test_storage_failing_midway_leaves_a_loadable_target_and_a_rerun_converges(quick_site):
    """Storage lost from a request on: after the pin, after the first new file, after the configs
    written back (fail_points); HARDENING_KILLS=N (scripts/soak.sh) adds 5 seeded points."""
    site = quick_site
    site.clean_sync(site.v1)
    total = site.clean_sync(site.v2)  # requests of a v1 -> v2 sync
    points = fail_points(site.proxy.log)
    if SEEDED_KILLS:
        points += sorted(random.Random(SEED).sample(range(1, total + 4), 5))
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


def plain_writes(site) -> bool:
    """Did the last sync write only through the prefetch helper's plain S3 writer
    (compiler/fastpath/s3_store.py), not through botocore?"""
    agents = {agent for (method, agent) in site.proxy.agents if method in WRITES}
    return agents == {"triton-gitops"}


def writes(log) -> int:
    """How many requests of a proxy log changed the store."""
    return sum(method in WRITES for _, method, _, _ in log)


def one_kill(site, where: str, code: int, out: str, err: str) -> int:
    """Check what one aimed kill left; the number of half-uploaded version folders let through."""
    if code == -signal.SIGKILL:
        site.killed.add(where)
    else:
        assert code == 0, f"{where}: {out}{err}"
    return loadable(site, where, allow_half_uploaded=True)


def killed_after_write(site, project, k: int):
    """Sync `project` and SIGKILL it as soon as its k-th write has reached the store (before it hears
    the answer): the target is then exactly as a sync that died there leaves it."""
    site.proxy.reset(rate=0.0)
    proc = project.sync("--prune", env=site.env)
    count = iter(range(1, 10 ** 6))
    site.proxy.kill_after_match = (lambda method, path: method in WRITES and next(count) == k, proc.pid)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def killed_at_request(site, project, n: int):
    """Sync `project` and SIGKILL it when its n-th request arrives (before it reaches the store)."""
    site.proxy.reset(rate=0.0)
    proc = project.sync("--prune", env=site.env)
    site.proxy.kill_at = (n, proc.pid)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def test_sync_killed_after_each_write_leaves_a_loadable_target_and_a_rerun_converges(site):
    """Alternately to v2 and to v1, each from what the last kill left: the k-th sync of each way is
    killed right after its k-th write, for every write a clean run of that way makes (lock, state,
    pin, each file, configs written back, prune, state, lock), so every point at which a kill leaves
    the store different is hit once, on top of the leftovers of the kill before it. Then
    HARDENING_KILLS more kills at seeded request numbers (0 in the suite; scripts/soak.sh: 50)."""
    site.clean_sync(site.v1)
    clean_writes = {}
    for project in (site.v2, site.v1):
        site.clean_sync(project)
        clean_writes[project.folder.name] = writes(site.proxy.log)
        assert plain_writes(site), site.proxy.agents  # the kills below hit the writer without the SDK
    assert min(clean_writes.values()) >= 8, clean_writes  # lock, state, pin, files, config, state, lock
    runs, half = [], 0  # runs: (how the kill was aimed, where it was aimed)
    for k in range(1, max(clean_writes.values())):  # the last write is the lock's release: nothing after it
        for project in (site.v2, site.v1):
            if k < clean_writes[project.folder.name]:
                where = f"after write {k} of a sync to {project.folder.name}"
                half += one_kill(site, where, *killed_after_write(site, project, k))
                runs.append(("write", where))
    if SEEDED_KILLS:
        lengths = {"v1": site.clean_sync(site.v1)}
        lengths["v2"] = site.clean_sync(site.v2)
    rng = random.Random(SEED)
    for i in range(SEEDED_KILLS):
        project = site.v1 if i % 2 else site.v2
        n = rng.randint(1, lengths[project.folder.name] + 2)
        where = f"kill {i} at request {n} of a sync to {project.folder.name}"
        half += one_kill(site, where, *killed_at_request(site, project, n))
        runs.append(("seeded", where))
    print(f"{len(runs)} syncs, {len(site.killed)} killed mid-way, {half} left a half-uploaded version folder")
    for aim in ("write", "seeded"):
        aimed = [where for how, where in runs if how == aim]
        # A sync from a kill's leftovers may have fewer writes than a clean one: it then finishes.
        dead = [where for where in aimed if where in site.killed]
        assert len(dead) >= len(aimed) // 2, f"only {len(dead)} of {len(aimed)} syncs were killed mid-way"
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


@pytest.mark.parametrize("answer", ["redirect", "403", "500", "garbage"])
def test_a_hostile_answer_to_a_file_write_fails_cleanly_and_leaves_nothing_half_written(site, answer):
    """The store answers the first upload of a new version file with a redirect (to a host that
    must never be asked), a denial, 500s or bytes that are not HTTP: the plain writer follows
    no redirect, retries the 500s and the garbage as botocore would, and the sync fails
    explained, with no config naming the version it could not finish; a rerun converges."""
    from tests.storage.servers import Recorder

    site.clean_sync(site.v1)
    with Recorder(status=200, payload=b"") as elsewhere:
        site.proxy.reset(rate=0.0)
        site.proxy.answer_match = (lambda method, path: method == "PUT" and "/preprocess/2/" in path, answer,
                                   f"{elsewhere.url}/stolen")
        code, out, err = site.sync(site.v2)
        assert elsewhere.log == []
    assert plain_writes(site), site.proxy.agents
    assert_clean_failure(code, out, err)
    assert "preprocess/2/" in err and site.emulator.secret not in err.replace("${TG_SECRET}", "")
    loadable(site, f"the store answered {answer}")
    site.proxy.reset(rate=0.0)
    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]

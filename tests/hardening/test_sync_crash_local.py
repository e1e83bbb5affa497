"""`sync` to a local folder killed with SIGKILL at seeded points: after every kill the folder
is one a polling Triton can load, the real tritonserver loads it as the last kill left it,
and a re-run converges to exact equality with the compiled repository.

The kill points are file-system operations, counted in the sync process itself: a small
wrapper (below) counts every write-open, rename, replace, unlink, rmdir and mkdir under
the target's parent folder (the repository and the sibling it stages new models in) and
sends itself SIGKILL at the N-th. The suite kills each way (v1 -> v2, v2 -> v1) at SPREAD
operations spread evenly over a full run of that way (lock, state, staging, the swaps and
removals in the repository, the state again); HARDENING_KILLS=N (scripts/soak.sh: 50) kills
at N operations drawn from a seeded generator instead.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardening.syncsite import Project, loadable_problems, repository
from tests.helpers import REPO

KILLS = int(os.environ.get("HARDENING_KILLS", "0"))  # 0: the spread points below
SPREAD = 8  # kill points per way in the suite
SEED = 20_251_126

_WRAPPER = r"""
import builtins, os, signal, sys
N = int(os.environ["HARDENING_KILL_AT"])  # 0: count only, and print the count at exit
UNDER = os.environ["HARDENING_KILL_UNDER"].rstrip("/") + "/"
count = 0

def hit(path):
    global count
    if isinstance(path, int):
        return
    if not os.path.abspath(os.fsdecode(path)).startswith(UNDER):
        return
    count += 1
    if N == 0:  # a counting run also says which operation touched what (tests/sync/test_triton.py)
        sys.stderr.write(f"HARDENING-OP {count} {os.path.relpath(os.path.abspath(os.fsdecode(path)), UNDER)}\n")
    if count == N:
        os.kill(os.getpid(), signal.SIGKILL)

def counted(fn, mutates):
    def inner(*args, **kwargs):
        if args and kwargs.get("dir_fd") is None and mutates(args, kwargs):
            hit(args[0])
        return fn(*args, **kwargs)
    return inner

def writes_mode(args, kwargs):
    mode = args[1] if len(args) > 1 else kwargs.get("mode", "r")
    return isinstance(mode, str) and any(c in mode for c in "wax+")

def writes_flags(args, kwargs):
    flags = args[1] if len(args) > 1 else kwargs.get("flags", 0)
    return bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))

builtins.open = counted(builtins.open, writes_mode)
os.open = counted(os.open, writes_flags)
for name in ("replace", "rename", "unlink", "remove", "rmdir", "mkdir"):
    setattr(os, name, counted(getattr(os, name), lambda args, kwargs: True))

from compiler.cli import main
code = main(sys.argv[1:])
if N == 0:
    print(f"HARDENING-OPS {count}", file=sys.stderr)
sys.exit(code)
"""


class LocalSite:
    def __init__(self, tmp_path: Path):
        self.target = tmp_path / "target" / "repo"
        spec = {"url": "build/repo"}  # a manifest's own must stay inside it; they sync to self.target (below)
        self.v1 = Project(tmp_path / "v1", "v1", spec)
        self.v2 = Project(tmp_path / "v2", "v2", spec)
        self.expected = {"v1": self.v1.expected(), "v2": self.v2.expected()}
        self.env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"),
                        HARDENING_KILL_UNDER=str(self.target.parent))

    def files(self) -> dict:
        if not self.target.is_dir():
            return {}
        return {p.relative_to(self.target).as_posix(): p.read_bytes()
                for p in sorted(self.target.rglob("*")) if p.is_file()}

    def sync(self, project, kill_at: int = 0):
        env = dict(self.env, HARDENING_KILL_AT=str(kill_at))
        # The folder named on the command line: both projects' manifests sync to it, outside either.
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, "sync", str(project.manifest), "--target",
                               str(self.target), "--prune"], cwd=project.folder, env=env, capture_output=True,
                              text=True, timeout=300)
        return proc.returncode, proc.stdout, proc.stderr

    def length(self, project) -> int:
        """Operations a full sync of `project` takes from the target's current state."""
        code, out, err = self.sync(project)
        assert code == 0, out + err
        assert repository(self.files()) == self.expected[project.folder.name]
        return int(err.rsplit("HARDENING-OPS ", 1)[1].split()[0])


@pytest.mark.triton
def test_sync_to_a_folder_killed_mid_way_stays_loadable_and_converges(tmp_path, triton_server):
    site = LocalSite(tmp_path)
    site.length(site.v1)
    lengths = {"v2": site.length(site.v2), "v1": site.length(site.v1)}
    rng = random.Random(SEED)
    projects = [site.v2, site.v1]
    if KILLS:
        points = [(projects[i % 2], rng.randint(1, lengths[projects[i % 2].folder.name] + 1)) for i in range(KILLS)]
    else:  # each way alternately, at the middle of each of SPREAD equal stretches of its run
        points = [(project, 1 + (2 * i + 1) * (lengths[project.folder.name] - 1) // (2 * SPREAD))
                  for i in range(SPREAD) for project in projects]
    killed = 0
    for i, (project, n) in enumerate(points):
        code, out, err = site.sync(project, kill_at=n)
        if code == -signal.SIGKILL:
            killed += 1
        else:
            assert code == 0, f"kill {i} at operation {n}: {out}{err}"
        problems = loadable_problems(repository(site.files()), list(site.expected.values()))
        assert problems == [], f"kill {i} at operation {n} of a sync to {project.folder.name}: {problems}"
    print(f"{len(points)} syncs to a folder, {killed} killed mid-way, every state loadable")
    assert killed >= len(points) // 2, f"only {killed} of {len(points)} syncs were killed mid-way"

    # The real server on the repository exactly as the last kill left it: every model whose
    # config is there loads (strict readiness: the server is ready only if all of them do).
    found = repository(site.files())
    present = sorted({p.split("/", 1)[0] for p in found if p.endswith("/config.pbtxt") and p.count("/") == 1})
    server = triton_server(site.target, "--strict-readiness=true", wait="ready", timeout=120)
    for model in present:
        status, body = server.get(f"/v2/models/{model}/ready")
        assert status == 200, f"{model} is not ready as the last kill left it: {body}"
    server.stop()

    code, out, err = site.sync(site.v2)
    assert code == 0, out + err
    assert repository(site.files()) == site.expected["v2"]
    server = triton_server(site.target, "--strict-readiness=true", wait="ready", timeout=120)
    for model in ("classify_text", "preprocess", "text_classifier"):
        assert server.get(f"/v2/models/{model}/ready")[0] == 200, model

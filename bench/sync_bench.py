"""Benchmark: `triton-gitops sync` against `aws s3 sync` and `rclone sync`, on moto over loopback.

    .venv/bin/python bench/sync_bench.py [--models 200] [--big 10] [--jobs 8] [--s3-emulator seaweedfs]

A generated manifest of MODELS models x 2 versions (100 kB files, BIG of them 20 MB) plus
one config.pbtxt each; the other tools sync the repository `triton-gitops compile` wrote
from it. Scenarios, in order, each tool on its own bucket:

  first upload   empty bucket
  no-op          nothing changed
  fresh checkout every file rewritten with the same bytes (new mtime, inode, ctime); for the
                 other tools the repository is compiled again, as a CI job would
  same-size edit one version file edited in place, size and mtime kept

Each scenario's change is made RACY_SECONDS (compiler/storage/files.py) before the tools run:
what our sync hashes is then kept in its hash index for the next scenario (a digest of a
file changed within that window serves its run only).

Each run is a whole process (start-up and imports count); wall time and CPU seconds (user +
system of the process and every child it waited for) are printed for each, and the ratios to
`rclone sync --checksum --fast-list` over the runs that took turns with it. `--baseline DIR`
runs another code tree of ours beside this one (before and after a change, same load);
`--edits N` repeats the same-size edit N times a round, `--fresh N` the fresh checkout.
Requests and files moved are read from moto's access log (files moved = distinct objects PUT, our state and lock files left
out); "right" means the bucket then holds exactly the source, byte for byte where it changed,
and nothing was sent that did not need to be.

`--s3-emulator seaweedfs` runs the same against SeaweedFS (a real object store in Go;
tests/support/emulators.py). Its requests are counted from its own metrics (requests per
bucket, nothing in the way of the tools' requests, no access log written), so there is no
per-request list to explain; files moved are the objects (our control files left out) that
are new or whose ETag or LastModified changed, from a listing before and after each run.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from compiler.storage.files import RACY_SECONDS  # noqa: E402
from tests.support.emulators import S3Emulator, SeaweedEmulator  # noqa: E402

SMALL, BIG = 100_000, 20_000_000
_REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|PUT|POST|HEAD|DELETE) (/[^ ?]*)(\?[^ ]*)? HTTP')
CONTROL = (".triton-gitops-state.json", ".triton-gitops-lock.json")

CONFIG = """\
  m{i:03d}:
    max_batch_size: 8
    input: [{{name: X, data_type: FP32, dims: [16]}}]
    output: [{{name: Y, data_type: FP32, dims: [4]}}]
    versions:
      1: {{source: src/m{i:03d}/1/model.onnx}}
      2: {{source: src/m{i:03d}/2/model.onnx}}
"""


def generate(root: Path, models: int, big: int) -> Path:
    rng = random.Random(42)
    big_files = set(rng.sample(range(models * 2), big))
    lines = ["version: 1", "defaults: {platform: onnxruntime_onnx}", "models:"]
    for i in range(models):
        for v in (1, 2):
            path = root / "src" / f"m{i:03d}" / str(v) / "model.onnx"
            path.parent.mkdir(parents=True, exist_ok=True)
            size = BIG if (i * 2 + v - 1) in big_files else SMALL
            path.write_bytes(rng.randbytes(size))
        lines.append(CONFIG.format(i=i).rstrip("\n"))
    manifest = root / "models.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def compile_repo(manifest: Path, out: Path, env) -> None:
    """The repository the other tools sync: compiled afresh (new files), without compile's marker."""
    compiled = out.with_name("compiled")
    shutil.rmtree(compiled, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "compiler", "compile", str(manifest), "--out", str(compiled)],
                   check=True, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    shutil.rmtree(out, ignore_errors=True)
    # compile's own records (its marker, the state of the folder it wrote) are not the repository
    shutil.copytree(compiled, out, ignore=shutil.ignore_patterns(".triton-gitops-compiled", *CONTROL))


def rewrite_all(folder: Path) -> None:
    """What a fresh clone does to each file: same bytes, a new inode, new mtime and ctime."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)


def edit_keeping_size_and_mtime(path: Path) -> None:
    stat = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(1000)
        old = handle.read(16)
        handle.seek(1000)
        handle.write(bytes(b ^ 0xFF for b in old))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


class Moto:
    def __init__(self, workdir: Path):
        self.emulator = S3Emulator(workdir)
        self.emulator.start()
        self.offset = 0

    def mark(self, bucket: str) -> None:
        self.offset = self.emulator.log_path.stat().st_size

    def requests(self):
        time.sleep(0.2)  # let the access log catch up
        with open(self.emulator.log_path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        return [(m.group(1), m.group(2), m.group(3) or "") for m in _REQUEST.finditer(text)]

    def observed(self, bucket: str) -> tuple[int, set, list]:
        """(requests to `bucket` since mark, the objects written, those requests) of one run."""
        requests = [r for r in self.requests() if f"/{bucket}" == r[1] or r[1].startswith(f"/{bucket}/")]
        moved = {path for method, path, query in requests
                 if method in ("PUT", "POST") and not path.endswith(CONTROL) and path != f"/{bucket}"}
        return len(requests), moved, requests


class Seaweed(Moto):
    """SeaweedFS: requests from its metrics, files moved from listings (see the module's text)."""

    def __init__(self, workdir: Path):
        self.emulator = SeaweedEmulator(workdir, metrics=True)
        self.emulator.start()
        self.before: tuple = ({}, {})

    def _objects(self, bucket: str) -> dict:
        found = self.emulator.fs().find(bucket, detail=True)
        return {path: (info.get("ETag"), str(info.get("LastModified"))) for path, info in found.items()
                if not path.endswith(CONTROL)}

    def _requests_to(self, bucket: str) -> float:
        return sum(n for (name, _), n in self.emulator.request_counts().items() if name == bucket)

    def mark(self, bucket: str) -> None:
        objects = self._objects(bucket)  # listed first: the count after it leaves this listing out
        self.before = (self._requests_to(bucket), objects)

    def observed(self, bucket: str) -> tuple[int, set, list]:
        count, objects = self._requests_to(bucket), self._objects(bucket)
        moved = {path for path, seen in objects.items() if self.before[1].get(path) != seen}
        return int(count - self.before[0]), moved, []


BASELINE = "triton-gitops sync (baseline tree)"


def tools(moto: Moto, work: Path, jobs: int, rep: int, baseline_tree=None):
    endpoint = moto.emulator.endpoint
    aws_env = {**os.environ, **moto.emulator.env()}
    rclone_env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # rclone rejects the bundle
    rclone_env.update({"RCLONE_CONFIG_MOTO_TYPE": "s3", "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
                       "RCLONE_CONFIG_MOTO_ENDPOINT": endpoint, "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": "testing",
                       "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": "testing", "RCLONE_CONFIG_MOTO_REGION": "us-east-1"})
    ours_env = {**aws_env, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(work / "cache")}
    repo = work / "repo"
    baseline = {}
    if baseline_tree:  # another code tree of ours (git archive COMMIT | tar -x -C DIR): before/after, same load
        baseline[BASELINE] = ([sys.executable, "-m", "compiler", "sync", str(work / "models.yaml"), "--target",
                               f"s3://base{rep}/models", "--jobs", str(jobs)],
                              {**ours_env, "PYTHONPATH": str(baseline_tree), "XDG_CACHE_HOME": str(work / "cache-base")},
                              f"base{rep}")
    return {
        "triton-gitops sync": ([sys.executable, "-m", "compiler", "sync", str(work / "models.yaml"),
                                "--target", f"s3://ours{rep}/models", "--jobs", str(jobs)], ours_env, f"ours{rep}"),
        **baseline,
        "aws s3 sync": (["aws", "s3", "sync", str(repo), f"s3://aws{rep}/models", "--endpoint-url", endpoint,
                         "--only-show-errors"], aws_env, f"aws{rep}"),
        "rclone sync": (["rclone", "sync", str(repo), f"moto:rclone{rep}/models"], rclone_env, f"rclone{rep}"),
        "rclone sync --checksum --fast-list": (["rclone", "sync", "--checksum", "--fast-list", str(repo),
                                                f"moto:rclonesum{rep}/models"], rclone_env, f"rclonesum{rep}"),
    }


def bucket_matches(moto: Moto, bucket: str, repo: Path, check: list) -> bool:
    """Same keys and sizes as the source, and the bytes of the files in `check` (paths in repo)."""
    fs = moto.emulator.fs()
    found = {p[len(bucket) + len("/models/"):]: info["size"]
             for p, info in fs.find(f"{bucket}/models", detail=True).items()}
    for name in CONTROL:
        found.pop(name, None)
    wanted = {p.relative_to(repo).as_posix(): p.stat().st_size for p in repo.rglob("*") if p.is_file()}
    if found != wanted:
        return False
    return all(hashlib.md5(fs.cat_file(f"{bucket}/models/{rel}")).digest() == hashlib.md5((repo / rel).read_bytes())
               .digest() for rel in check)


def one_round(args, moto: Moto, work: Path, rep: int, results: dict) -> None:
    """Every scenario once, every tool on fresh buckets and a freshly generated project."""
    manifest = generate(work, args.models, args.big)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    compile_repo(manifest, work / "repo", env)
    table = {name: tool for name, tool in tools(moto, work, args.jobs, rep, args.baseline).items()
             if not args.tools or any(name == t.strip() for t in args.tools.split(","))}
    for _, _, bucket in table.values():
        moto.emulator.make_bucket(bucket)
    files = sum(1 for p in (work / "repo").rglob("*") if p.is_file())
    edited = f"m{args.models // 2:03d}/1/model.onnx"
    scenarios = [("first upload", None, files), ("no-op", None, 0)] + [("fresh checkout", "fresh", 0)] * args.fresh \
        + [("same-size edit", "edit", 1)] * args.edits
    repeats: dict = {}
    for scenario, change, needed in scenarios:
        if args.scenarios and scenario != "first upload" and scenario not in args.scenarios.split(","):
            continue
        if change == "fresh":
            rewrite_all(work / "src")
            compile_repo(manifest, work / "repo", env)
        elif change == "edit":
            edit_keeping_size_and_mtime(work / "src" / edited)
            edit_keeping_size_and_mtime(work / "repo" / edited)
        # A digest read within RACY_SECONDS of the file's last change serves that run only
        # (compiler/storage/files.py): the change is left to age past it, so that what a run
        # hashes is in the index for the next scenario, as when a sync follows a checkout later.
        time.sleep(RACY_SECONDS + 0.5)
        # Each round, and each repeat of a scenario in a round, starts with another tool, so no
        # tool always meets the emulator (and the disk) in the same state.
        turn = rep + repeats.get(scenario, 0)
        repeats[scenario] = repeats.get(scenario, 0) + 1
        order = list(table.items())
        order = order[turn % len(order):] + order[:turn % len(order)]
        for tool, (command, tool_env, bucket) in order:
            # The scenario's own writes (hundreds of MB for a fresh checkout) are still being
            # flushed to disk for a few seconds, in kernel threads that take CPU from whichever
            # tool runs first. Every tool starts with nothing left to flush.
            os.sync()
            moto.mark(bucket)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            done = subprocess.run(command, env=tool_env, cwd=work, capture_output=True, text=True)
            seconds = time.monotonic() - started
            cpu = _cpu(before)
            if done.returncode != 0:
                raise SystemExit(f"{tool} failed ({done.returncode}):\n{done.stderr[-2000:]}")
            count, moved, requests = moto.observed(bucket)
            right = bucket_matches(moto, bucket, work / "repo", [edited]) and len(moved) == needed
            results.setdefault((scenario, tool), []).append((seconds, count, len(moved), right, cpu))
            if requests and (args.verbose or (tool == "triton-gitops sync" and len(requests) <= 40)):
                print("\n".join(explain(requests, bucket)[:40]))
            print(f"{rep}: {scenario:<15} {tool:<36} {seconds:6.2f} s {cpu:5.2f} s CPU {count:6d} requests "
                  f"{len(moved):4d} moved  {'right' if right else 'WRONG'}", flush=True)
        if scenario == "no-op" and "triton-gitops sync" in table:
            floor(moto, table["triton-gitops sync"], rep, results)


def explain(requests, bucket: str) -> list:
    """Each request of a run, with why a sync of ours makes it (read from the method, the key
    and what came before: the lock is looked at, created, read back, then removed)."""
    control = {f"/{bucket}/models/{name}": name for name in CONTROL}
    lines, sent, locked = [], False, False
    for method, path, query in requests:
        name = control.get(path)
        if method == "GET" and "list-type" in query:
            why = "list the target (sizes, ETags): what is there now"
        elif name == CONTROL[0] and method == "GET":
            why = ("read the state again, beside the lock's read-back: unchanged, so the plan stands without "
                   "a second listing" if locked else "read the sync state: what we wrote last time")
        elif name == CONTROL[0] and method == "PUT":
            why = ("write the state: what arrived, with its stamps" if sent else
                   "write the state with the new files marked pending (a kill leaves them ours)")
        elif name == CONTROL[1] and method == "PUT":
            locked, why = True, "take the lock: create it only if absent (If-None-Match)"
        elif name == CONTROL[1] and method == "GET":
            why = "read the lock: whose it is (look, read back, or check it is ours before removing it)"
        elif name == CONTROL[1] and method == "DELETE":
            why = "release the lock"
        elif method == "HEAD":
            why = "read back what arrived (size, md5)"
        elif method == "PUT" and path.endswith(".pbtxt"):
            why = "write a config (a pin, or the wanted config last)"
        elif method in ("PUT", "POST"):
            sent, why = True, "send a changed file (Content-MD5; the ETag answered is the check of what arrived)"
        elif method == "DELETE":
            why = "delete a file the manifest dropped"
        else:
            why = "?"
        lines.append(f"    {method:<6} {path}{query[:40]:<40}  {why}")
    return lines


FLOOR = "python: import s3fs, list once"
_FLOOR_SCRIPT = ("import gc, os, sys; gc.disable(); import s3fs; "
                 "s3fs.S3FileSystem().find(sys.argv[1], detail=True); os._exit(0)")


def floor(moto: Moto, ours, rep: int, results: dict) -> None:
    """The least any tool built on fsspec's s3fs pays for a no-op: a Python process that imports
    s3fs, makes its client and lists the bucket once (our bucket: the same 600 objects), with
    the collector off and no clean-up at exit. Nothing else: no manifest, no state, no hashing."""
    _, env, bucket = ours
    os.sync()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", _FLOOR_SCRIPT, f"{bucket}/models"], env=env, check=True)
    seconds = time.monotonic() - started
    cpu = _cpu(before)
    results.setdefault(("no-op", FLOOR), []).append((seconds, 1, 0, None, cpu))
    print(f"{rep}: {'no-op':<15} {FLOOR:<36} {seconds:6.2f} s {cpu:5.2f} s CPU", flush=True)


def _cpu(before) -> float:
    """User + system seconds of the processes waited for since `before` (a tool and its children)."""
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def run(args) -> dict:
    # Byte-code as an installed package has it: with PYTHONDONTWRITEBYTECODE set (as in some CI
    # images) a work tree would otherwise recompile every module it changed, on every run.
    for tree in (REPO, *([args.baseline] if args.baseline else [])):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "compiler")], check=True,
                       stdout=subprocess.DEVNULL)
    top = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    results: dict = {}
    try:
        moto = Seaweed(top / "seaweedfs") if args.s3_emulator == "seaweedfs" else Moto(top / "moto")
        try:
            for rep in range(args.repeat):
                work = top / f"round{rep}"
                work.mkdir()
                one_round(args, moto, work, rep, results)
                shutil.rmtree(work / "src", ignore_errors=True)  # 240 MB a round
        finally:
            moto.emulator.stop()
    finally:
        if not args.keep:
            shutil.rmtree(top, ignore_errors=True)
    return results


def table_rows(results: dict) -> list:
    rows = []
    for (scenario, tool), runs in results.items():
        times = sorted(r[0] for r in runs)
        median = runs[[r[0] for r in runs].index(times[len(times) // 2])]
        right = "n/a" if tool == FLOOR else all(r[3] for r in runs)
        cpu = sorted(r[4] for r in runs)[len(runs) // 2]
        rows.append((scenario, tool, times[len(times) // 2], times[0], times[-1], cpu, median[1], median[2], right))
    return rows


BAR = "rclone sync --checksum --fast-list"


def against_the_bar(results: dict) -> str:
    """Round by round (the two ran minutes apart at most, so a busy moment hits both), a tool's
    time minus rclone --checksum's, per scenario: the median, then every round."""
    out = ["| scenario | tool | minus rclone --checksum, median | per round | wall ratio | CPU ratio |",
           "|---|---|---:|---|---:|---:|"]
    for (scenario, tool), runs in results.items():
        bar = results.get((scenario, BAR))
        if tool not in ("triton-gitops sync", BASELINE, FLOOR) or not bar:
            continue
        gaps = sorted(mine[0] - theirs[0] for mine, theirs in zip(runs, bar))
        rounds = ", ".join(f"{mine[0] - theirs[0]:+.2f}" for mine, theirs in zip(runs, bar))
        # Ratios of the sums over the runs that took turns (the targets are ratios).
        wall = sum(m[0] for m, _ in zip(runs, bar)) / sum(t[0] for _, t in zip(runs, bar))
        cpu = sum(m[4] for m, _ in zip(runs, bar)) / max(sum(t[4] for _, t in zip(runs, bar)), 1e-9)
        out.append(f"| {scenario} | `{tool}` | {gaps[len(gaps) // 2]:+.2f} s | {rounds} | {wall:.2f}x | {cpu:.2f}x |")
    return "\n".join(out)


def markdown(rows) -> str:
    out = ["| scenario | tool | wall time (median) | min - max | CPU s (median) | requests | files moved | right |",
           "|---|---|---:|---:|---:|---:|---:|---|"]
    for scenario, tool, median, low, high, cpu, requests, moved, right in rows:
        right = right if isinstance(right, str) else ("yes" if right else "no")
        out.append(f"| {scenario} | `{tool}` | {median:.2f} s | {low:.2f} - {high:.2f} | {cpu:.2f} | {requests} | "
                   f"{moved} | {right} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--big", type=int, default=10, help="how many version files are 20 MB")
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the table shows the median")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--verbose", action="store_true", help="list each run's requests (ours: always, up to 40)")
    parser.add_argument("--tools", help="comma-separated tool labels to run (default: all)")
    parser.add_argument("--edits", type=int, default=1, help="same-size edits per round (each tool in turn)")
    parser.add_argument("--fresh", type=int, default=1, help="fresh checkouts per round (each tool in turn)")
    parser.add_argument("--baseline", type=Path, help="another code tree of ours to run beside this one "
                        "(e.g. git archive COMMIT | tar -x -C DIR): before and after under the same load")
    parser.add_argument("--s3-emulator", choices=("moto", "seaweedfs"), default="moto",
                        help="the S3 the tools sync to (seaweedfs: SeaweedFS, installed by bootstrap.sh)")
    parser.add_argument("--scenarios", help="comma-separated scenarios to run (default: all; first upload always "
                        "runs, since the others start from it)")
    args = parser.parse_args()
    results = run(args)
    print(markdown(table_rows(results)))
    print()
    print(against_the_bar(results))


if __name__ == "__main__":
    main()

"""Benchmark: how validate, plan and compile --dry-run grow with the number of models.

    .venv/bin/python bench/scale_bench.py [--sizes 100,1000,10000] [--versions 2] [--repeat 3]

For each size N, generates N models x 2 versions (tiny python sources, one local target)
in a work folder, compiles once and syncs once, then times, as whole processes of the
console script (start-up and imports count):

- `validate`
- `plan --target local` on a target that is up to date (a no-op)
- `compile --dry-run --exit-code` on an output that is up to date
- with --s3: `plan --target s3://...` on a bucket of an S3 emulator (tests/support/emulators.py,
  on loopback) that a first sync filled: a no-op against an object store. `--s3-emulator`
  names the emulators, each a step of its own (taking turns with the others): moto (the
  default), s3rver (`bash scripts/install_s3rver.sh` first), whose listing costs about half
  of moto's CPU per page, and seaweedfs (SeaweedFS, a real object store in Go; bootstrap.sh
  installs it). The first sync of 10,000 models to moto takes 10-40 minutes (moto's
  listing is linear in the bucket's size per page); `--s3-endpoint [moto=]URL --s3-bucket NAME`
  reuse a moto started beforehand whose bucket a run of the same size filled (the tree is generated
  the same each time, so that setup sync is a no-op). s3rver and seaweedfs keep their objects as
  files under the work folder (`<workdir>/s3rver/data`, `<workdir>/seaweedfs/data`), so a later
  run finds its bucket filled already.

The per-model result cache (compiler/fastpath/results.py) lives in the cache folder; each
--cli gets a folder of its own under the work tree. The setup (compile, sync, then one untimed
run of each step, which keeps the whole answers of compiler/fastpath/verdict.py) fills it, so
the timed runs are the re-runs the cache is for; TRITON_GITOPS_FASTPATH=0 in a --cli command
times the plain code.

The CPU seconds (user + system) are the
child's own too, and less at the mercy of a loaded machine than the wall time. Each step's peak RSS is the child's own (os.wait4), not the largest of all children. Prints
a table (median of --repeat runs, the min and max, the peak RSS), then the cost per model
from one size to the next, and the targets of issue 18 for the largest size (on CPU seconds, the tool's own cost; the wall
time beside, and with --s3 a bare boto3 listing of the same pages timed right after each S3
plan, and the emulator's own CPU during the plan when the bench started it: the emulator's
share of that wall time); exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
CLI = [str(Path(sys.executable).parent / "triton-gitops")]
TARGETS = {"validate": 3.0, "plan --target local (no-op)": 3.0, "compile --dry-run (up to date)": 1.0}
RSS_TARGET_MB = 300

from compiler.storage.files import RACY_SECONDS  # noqa: E402


def generate(root: Path, models: int, versions: int) -> None:
    lines = ["version: 1", "defaults:", "  backend: python", "  instance_group: [{kind: KIND_CPU, count: 1}]",
             "targets:", "  local: {url: build/model_repository}", "models:"]
    for m in range(models):
        name = f"model_{m:05d}"
        for v in range(1, versions + 1):
            folder = root / "src" / name / str(v)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "model.py").write_text(f"# {name} version {v}\nVALUE = {v}\n")
        lines += [f"  {name}:", "    max_batch_size: 8",
                  "    input: [{name: INPUT, data_type: FP32, dims: [16]}]",
                  "    output: [{name: OUTPUT, data_type: FP32, dims: [16]}]",
                  "    dynamic_batching: {max_queue_delay_microseconds: 100}",
                  "    versions:"]
        lines += [f"      {v}: {{source: src/{name}/{v}}}" for v in range(1, versions + 1)]
    (root / "models.yaml").write_text("\n".join(lines) + "\n")


def run(cmd: list[str], cwd: Path, expect=(0,), env=None) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MB) of one whole process; its stderr goes to a file (a pipe
    nobody reads while waiting would fill and stop a chatty process)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in expect:
            stderr.seek(0)
            sys.exit(f"{' '.join(cmd)} failed ({code}): {stderr.read().decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


STEPS = {
    "validate": ["validate", "models.yaml"],
    "plan --target local (no-op)": ["plan", "models.yaml", "--target", "local"],
    "compile --dry-run (up to date)": ["compile", "models.yaml", "--out", "build/compiled-{i}",
                                       "--dry-run", "--exit-code"],
}


def s3_step(store) -> str:
    return f"plan --target s3 (no-op, {store.name})"


def bare_step(store) -> str:
    return f"bare boto3 listing ({store.name}'s share)"


def measure(work: Path, models: int, versions: int, repeat: int, clis: dict, stores=()) -> dict:
    """{(label, step): [(seconds, CPU seconds, MB, the emulator's CPU seconds or None)]}. With
    several commands to compare, each has an output folder of its own (the build record belongs
    to the code that wrote it), they share the synced targets, and they take turns step by step."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, models, versions)
    steps, envs_of = dict(STEPS), {}
    # Each CLI gets a result cache of its own (compiler/fastpath/results.py): two code trees
    # sharing one would overwrite each other's (a cache of other code is never read), and every
    # timed run would be a cold one. Each emulator too: the same s3:// URL names another store.
    envs = [{**os.environ, "TRITON_GITOPS_CACHE_DIR": str(work / f".cache-{i}")} for i in range(len(clis))]
    for store in stores:
        bucket = store.make_bucket(store.bucket or f"scale{models}")
        steps[s3_step(store)] = ["plan", "models.yaml", "--target", f"s3://{bucket}/models"]
        envs_of[s3_step(store)] = [{**env, **store.env(), "TRITON_GITOPS_CACHE_DIR": f"{env['TRITON_GITOPS_CACHE_DIR']}-{store.name}"}
                                   for env in envs]
    for i, cli in enumerate(clis.values()):
        run(cli + ["compile", "models.yaml", "--out", f"build/compiled-{i}"], work, env=envs[i])
    run(next(iter(clis.values())) + ["sync", "models.yaml", "--target", "local"], work, env=envs[0])
    for store in stores:
        run(next(iter(clis.values())) + ["sync"] + steps[s3_step(store)][1:] + ["--jobs", "32"], work,
            env=envs_of[s3_step(store)][0])
    # One untimed round: the answers a step keeps whole (validate's and plan's, compiler/fastpath/
    # verdict.py) are written by the step itself, not by compile or sync, and only for inputs
    # that have not changed for RACY_SECONDS (compiler/storage/files.py: the sync just wrote the
    # target). The same rule keeps the digests and rules' results of the sources generated just
    # before compile and sync out of the hash index and the result cache: this round keeps them.
    time.sleep(RACY_SECONDS + 0.5)
    for step, args in steps.items():
        for i, cli in enumerate(clis.values()):
            run(cli + [a.format(i=i) for a in args], work, env=envs_of.get(step, envs)[i])
    results = {(label, step): [] for label in clis for step in steps}
    results.update({("", bare_step(store)): [] for store in stores})
    by_step = {s3_step(store): store for store in stores}
    for _ in range(repeat):          # the steps take turns, so noise spreads over all of them
        for step, args in steps.items():
            store = by_step.get(step)
            for i, (label, cli) in enumerate(clis.items()):
                before = emulator_cpu(store)
                found = run(cli + [a.format(i=i) for a in args], work, env=envs_of.get(step, envs)[i])
                after = emulator_cpu(store)
                results[label, step].append(found + (None if before is None else after - before,))
            if store is not None:  # the emulator's share, at the same moment: the listing alone (with imports)
                before = emulator_cpu(store)
                found = bare_listing(store, steps[step][-1][len("s3://"):].split("/", 1)[0], "models/")
                after = emulator_cpu(store)
                results["", bare_step(store)].append(found + (None if before is None else after - before,))
    return results


def emulator_cpu(store):
    """CPU seconds (user + system) the emulator has used so far, when the bench started it (its
    process is known); None otherwise."""
    if store is None or store.proc is None or store.proc.returncode is not None:
        return None
    try:
        with open(f"/proc/{store.proc.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_listing(s3, bucket: str, prefix: str) -> tuple[float, float, float]:
    """(seconds, CPU seconds, MB) of a process listing the bucket's prefix with a plain boto3
    paginator and nothing else: the same ListObjectsV2 pages the plan asks for, so its wall time
    minus its own CPU is about what the emulator takes to answer them. In a process of its own:
    boto3 imported here would be in every later child's peak RSS (a fork's is inherited)."""
    script = ("import sys, boto3; c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], "
              "aws_secret_access_key=sys.argv[3], region_name=sys.argv[4]); "
              "sum(len(p.get('Contents', ())) for p in c.get_paginator('list_objects_v2').paginate("
              "Bucket=sys.argv[5], Prefix=sys.argv[6]))")
    return run([sys.executable, "-c", script, s3.endpoint, s3.key, s3.secret, s3.region, bucket, prefix], HERE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of models, comma-separated")
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "scale")
    parser.add_argument("--cli", action="append", metavar="LABEL=COMMAND",
                        help="a command to time (default: this venv's console script); give several to "
                             "compare, e.g. before='env PYTHONPATH=/tmp/old .venv/bin/python -m compiler'")
    parser.add_argument("--s3", action="store_true", help="also time a no-op plan against an S3 emulator on loopback")
    parser.add_argument("--s3-emulator", default="moto", help="with --s3: which, comma-separated: moto, s3rver "
                        "(bash scripts/install_s3rver.sh first), seaweedfs; each is a step of its own")
    parser.add_argument("--s3-endpoint", action="append", default=[], metavar="[NAME=]URL",
                        help="with --s3: an emulator already running (e.g. moto=http://127.0.0.1:PORT; a URL "
                             "alone is moto's); the others named by --s3-emulator are started here")
    parser.add_argument("--s3-bucket", help="with --s3-endpoint: its bucket to plan against (filled by an earlier run)")
    args = parser.parse_args()
    clis = {"": CLI}
    if args.cli:
        clis = {label: shlex.split(command) for label, command in (c.split("=", 1) for c in args.cli)}
    sizes = [int(s) for s in args.sizes.split(",")]

    stores: list = []
    table = {}
    try:
        if args.s3:
            stores = start_stores(args)
        for size in sizes:
            table[size] = measure(args.workdir / str(size), size, args.versions, args.repeat, clis, stores)
    finally:
        for store in stores:
            store.stop()
    missed = []
    for label in clis:
        if label:
            print(f"\n== {label}: {' '.join(clis[label])}")
        missed += report({size: {step: found for (owner, step), found in table[size].items() if owner in (label, "")}
                          for size in sizes}, sizes, args, stores)
    return 1 if missed else 0


def start_stores(args) -> list:
    """The emulators --s3-emulator names, each started here (stopped by `stop`) or, named by
    --s3-endpoint, one started beforehand (then `proc` is None: stop() leaves it alone, and its
    CPU is not known)."""
    from tests.support.emulators import S3Emulator, S3rverEmulator, SeaweedEmulator

    kinds = {"moto": S3Emulator, "s3rver": S3rverEmulator, "seaweedfs": SeaweedEmulator}
    names = [name.strip() for name in args.s3_emulator.split(",") if name.strip()]
    unknown = [name for name in names if name not in kinds]
    if unknown or not names:
        sys.exit(f"--s3-emulator: {', '.join(unknown) or 'none named'}; known: {', '.join(kinds)}")
    running = dict(value.split("=", 1) if "=" in value.split("://", 1)[0] else ("moto", value)
                   for value in args.s3_endpoint)
    if set(running) - set(names):
        sys.exit(f"--s3-endpoint: {', '.join(sorted(set(running) - set(names)))} not named by --s3-emulator")
    stores = []
    for name in names:
        store = kinds[name](args.workdir / name)
        if name in running:  # started by someone else: neither started nor stopped here
            store.port = int(running[name].rsplit(":", 1)[1].strip("/"))
        else:
            store.start()
        store.bucket = args.s3_bucket
        stores.append(store)
        TARGETS[s3_step(store)] = 3.0
    return stores


def report(table: dict, sizes: list, args, stores: list) -> list:
    """Prints one command's table, growth and targets; returns the targets missed. Each of
    table[size][step] is a list of (seconds, CPU seconds, MB, the emulator's CPU or None)."""
    load = os.getloadavg()
    missed = []
    shown = list(STEPS) + [s3_step(store) for store in stores]
    print(f"models x {args.versions} versions; median of {args.repeat} runs; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'step':<34}{'models':>8}{'seconds':>9}{'min':>7}{'max':>7}{'CPU s':>7}{'peak RSS':>10}")
    for step in shown:
        for size in sizes:
            times = [found[0] for found in table[size][step]]
            cpu = statistics.median(found[1] for found in table[size][step])
            rss = max(found[2] for found in table[size][step])
            print(f"{step:<34}{size:>8}{statistics.median(times):>9.2f}{min(times):>7.2f}"
                  f"{max(times):>7.2f}{cpu:>7.2f}{rss:>7.0f} MB")

    print("\ngrowth: cost per added model from one size to the next, ms of wall time (of CPU time)")
    for step in shown:
        wall = [statistics.median(found[0] for found in table[size][step]) for size in sizes]
        cpu = [statistics.median(found[1] for found in table[size][step]) for size in sizes]
        steps = [f"{sizes[i]}->{sizes[i + 1]}: {1000 * (wall[i + 1] - wall[i]) / (sizes[i + 1] - sizes[i]):.2f} "
                 f"({1000 * (cpu[i + 1] - cpu[i]) / (sizes[i + 1] - sizes[i]):.2f})" for i in range(len(sizes) - 1)]
        print(f"  {step:<34}{'   '.join(steps)}")

    largest = sizes[-1]
    # The target is the tool's own cost: its CPU (the prefetch helper's included); the wall time
    # is shown beside it, and for S3 how long the emulator alone takes to answer the listing.
    print(f"\ntargets at {largest} models (CPU seconds, the wall time beside):")
    for step, limit in TARGETS.items():
        found = table[largest][step]
        cpu = statistics.median(f[1] for f in found)
        wall = statistics.median(f[0] for f in found)
        ok = cpu <= limit
        missed += [] if ok else [step]
        line = f"  {step:<34}{cpu:>6.2f} s CPU  (<= {limit:.0f} s)  {'ok' if ok else 'MISSED':<7} wall {wall:.2f} s"
        store = next((store for store in stores if s3_step(store) == step), None)
        if store is not None:
            line += _emulator_share(found, table[largest].get(bare_step(store), []))
        print(line)
    rss = max(found[2] for step in shown for found in table[largest][step])
    print(f"  {'peak RSS':<34}{rss:>6.0f} MB (<= {RSS_TARGET_MB} MB) {'ok' if rss <= RSS_TARGET_MB else 'MISSED'}")
    if rss > RSS_TARGET_MB:
        missed.append("peak RSS")
    return missed


def _emulator_share(plan: list, bare: list) -> str:
    """The emulator's CPU during the plan (when known), and the bare listing's wall and CPU."""
    text = ""
    served = [f[3] for f in plan if f[3] is not None]
    if served:
        text += f", the emulator's own CPU meanwhile {statistics.median(served):.2f} s"
    if bare:
        text += (f"; a bare boto3 listing of the same pages at the same time: {statistics.median(f[0] for f in bare):.2f} s "
                 f"wall, {statistics.median(f[1] for f in bare):.2f} s of it the client's CPU")
        served = [f[3] for f in bare if f[3] is not None]
        if served:
            text += f", {statistics.median(served):.2f} s the emulator's"
    return text


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: how validate, plan and compile --dry-run grow with the number of models.

    .venv/bin/python bench/scale_bench.py [--sizes 100,1000,10000] [--versions 2] [--repeat 3]

For each size N, generates N models x 2 versions (tiny python sources, one local target)
in a work folder, compiles once and syncs once, then times, as whole processes of the
console script (start-up and imports count):

- `validate`
- `plan --target local` on a target that is up to date (a no-op)
- `compile --dry-run --exit-code` on an output that is up to date

The CPU seconds (user + system) are the
child's own too, and less at the mercy of a loaded machine than the wall time. Each step's peak RSS is the child's own (os.wait4), not the largest of all children. Prints
a table (median of --repeat runs, the min and max, the peak RSS), then the cost per model
from one size to the next, and the targets of issue 18 for the largest size; exits 1 if a
target is missed.
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
CLI = [str(Path(sys.executable).parent / "triton-gitops")]
TARGETS = {"validate": 3.0, "plan --target local (no-op)": 3.0, "compile --dry-run (up to date)": 1.0}
RSS_TARGET_MB = 300


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


def run(cmd: list[str], cwd: Path, expect=(0,)) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak RSS in MB) of one whole process; its stderr goes to a file (a pipe
    nobody reads while waiting would fill and stop a chatty process)."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code not in expect:
            stderr.seek(0)
            sys.exit(f"{' '.join(cmd)} failed ({code}): {stderr.read().decode(errors='replace')}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


STEPS = {
    "validate": (["validate", "models.yaml"], (0,)),
    "plan --target local (no-op)": (["plan", "models.yaml", "--target", "local"], (0,)),
    "compile --dry-run (up to date)": (["compile", "models.yaml", "--out", "build/compiled",
                                        "--dry-run", "--exit-code"], (0,)),
}


def measure(work: Path, models: int, versions: int, repeat: int) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, models, versions)
    run(CLI + ["compile", "models.yaml", "--out", "build/compiled"], work)
    run(CLI + ["sync", "models.yaml", "--target", "local"], work)
    results = {step: [] for step in STEPS}
    for _ in range(repeat):          # the steps take turns, so noise spreads over all of them
        for step, (args, expect) in STEPS.items():
            results[step].append(run(CLI + args, work, expect))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of models, comma-separated")
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "scale")
    parser.add_argument("--cli", default=" ".join(CLI),
                        help="the command to time (default: this venv's console script); e.g. "
                             "'env PYTHONPATH=/tmp/old .venv/bin/python -m compiler' for another checkout")
    args = parser.parse_args()
    CLI[:] = shlex.split(args.cli)
    sizes = [int(s) for s in args.sizes.split(",")]

    table = {}
    for size in sizes:
        table[size] = measure(args.workdir / str(size), size, args.versions, args.repeat)
    load = os.getloadavg()

    print(f"models x {args.versions} versions; median of {args.repeat} runs; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'step':<34}{'models':>8}{'seconds':>9}{'min':>7}{'max':>7}{'CPU s':>7}{'peak RSS':>10}")
    for step in STEPS:
        for size in sizes:
            times = [t for t, _, _ in table[size][step]]
            cpu = statistics.median(c for _, c, _ in table[size][step])
            rss = max(r for _, _, r in table[size][step])
            print(f"{step:<34}{size:>8}{statistics.median(times):>9.2f}{min(times):>7.2f}"
                  f"{max(times):>7.2f}{cpu:>7.2f}{rss:>7.0f} MB")

    print("\ngrowth: cost per added model (ms) from one size to the next")
    for step in STEPS:
        medians = [statistics.median(t for t, _, _ in table[size][step]) for size in sizes]
        steps = [f"{a}->{b}: {1000 * (tb - ta) / (b - a):.2f}"
                 for (a, ta), (b, tb) in zip(zip(sizes, medians), zip(sizes[1:], medians[1:]))]
        print(f"  {step:<34}{'   '.join(steps)}")

    largest = sizes[-1]
    missed = []
    print(f"\ntargets at {largest} models:")
    for step, limit in TARGETS.items():
        got = statistics.median(t for t, _, _ in table[largest][step])
        ok = got <= limit
        missed += [] if ok else [step]
        print(f"  {step:<34}{got:>6.2f} s  (<= {limit:.0f} s)  {'ok' if ok else 'MISSED'}")
    rss = max(r for step in STEPS for _, _, r in table[largest][step])
    print(f"  {'peak RSS':<34}{rss:>6.0f} MB (<= {RSS_TARGET_MB} MB) {'ok' if rss <= RSS_TARGET_MB else 'MISSED'}")
    if rss > RSS_TARGET_MB:
        missed.append("peak RSS")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

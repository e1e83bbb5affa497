"""Benchmark: validate + compile of a 1,000-model x 3-version manifest, against `cp -r`.

    .venv/bin/python bench/compile_bench.py [--models 1000] [--versions 3] [--repeat 3]

Every step runs as a whole process (start-up and imports count), side by side in one run
with `cp -r` of the same source tree, which is the floor for writing those files on this
machine. Prints a table and the targets; exits 1 if a target is missed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "compiler"]


def generate(root: Path, models: int, versions: int) -> Path:
    lines = ["version: 1", "defaults:", "  backend: python", "  instance_group: [{kind: KIND_CPU, count: 1}]",
             "models:"]
    for m in range(models):
        name = f"model_{m:04d}"
        for v in range(1, versions + 1):
            folder = root / "src" / name / str(v)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "model.py").write_text(f"# {name} version {v}\n" + "VALUE = 1\n" * 40)
        lines += [f"  {name}:", "    max_batch_size: 8",
                  "    input: [{name: INPUT, data_type: FP32, dims: [16]}]",
                  "    output: [{name: OUTPUT, data_type: FP32, dims: [16]}]",
                  "    dynamic_batching: {max_queue_delay_microseconds: 100}",
                  "    versions:"]
        lines += [f"      {v}: {{source: src/{name}/{v}}}" for v in range(1, versions + 1)]
    manifest = root / "models.yaml"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def timed(cmd, cwd, before=None) -> float:
    if before:
        before()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 2):
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "compile")
    args = parser.parse_args()

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, args.models, args.versions)
    env_root = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = str(env_root) + os.pathsep + os.environ.get("PYTHONPATH", "")

    def clear(*names):
        return lambda: [shutil.rmtree(work / n, ignore_errors=True) for n in names]

    results = {"cp -r": [], "validate": [], "validate + compile": [], "compile --dry-run (up to date)": []}
    for _ in range(args.repeat):
        results["cp -r"].append(timed(["cp", "-r", "src", "copy"], work, clear("copy")))
        results["validate"].append(timed(CLI + ["validate", "models.yaml"], work))
        clear("out")()
        results["validate + compile"].append(
            timed(CLI + ["validate", "models.yaml"], work) + timed(CLI + ["compile", "models.yaml", "--out", "out"], work))
        results["compile --dry-run (up to date)"].append(
            timed(CLI + ["compile", "models.yaml", "--out", "out", "--dry-run"], work))

    files = sum(1 for _ in (work / "out").rglob("*") if _.is_file())
    floor = statistics.median(results["cp -r"])
    print(f"{args.models} models x {args.versions} versions: {files} files in the repository; "
          f"median of {args.repeat} runs")
    print(f"{'step':<34}{'seconds':>9}{'x cp -r':>9}")
    for step, times in results.items():
        median = statistics.median(times)
        print(f"{step:<34}{median:>9.2f}{median / floor:>9.2f}")
    targets = [
        ("validate + compile <= 1.0x cp -r", statistics.median(results["validate + compile"]) <= 1.0 * floor),
        ("compile --dry-run <= 0.2x cp -r", statistics.median(results["compile --dry-run (up to date)"]) <= 0.2 * floor),
        ("validate alone <= 1 s", statistics.median(results["validate"]) <= 1.0),
    ]
    for name, ok in targets:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: validate + compile of a 1,000-model x 3-version manifest, against `cp -r`.

    .venv/bin/python bench/compile_bench.py [--models 1000] [--versions 3] [--repeat 5] [--fresh-folders]

Every step runs as a whole process (start-up and imports count), side by side in one run
with `cp -r` of the same source tree, which is the floor for writing those files on this
machine. Each writing step writes the same folder right after the previous tree in it was
deleted, so all meet the same file system state; the table shows medians. Steps:

- `validate`
- `compile` into an empty folder: one process that validates, then writes (the target)
- `validate`, then `compile`: the same as two processes, for comparison
- `compile --dry-run` on an up-to-date output (answered from the build record)
- `compile --dry-run` after one source file changed (the full run: validation, then a
  comparison by content), for comparison

The generated sources are left to age past the racy window (RACY_SECONDS, compiler/storage/
files.py) before the first round, so that their digests are kept in the hash index.

Prints a table and the targets; exits 1 if a target is missed.
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
sys.path.insert(0, str(HERE.parent))
CLI = [sys.executable, "-m", "compiler"]

from compiler.storage.files import RACY_SECONDS  # noqa: E402


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


def timed(cmd, cwd, before=None, expect=(0, 2)) -> float:
    if before:
        before()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in expect:
        sys.exit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh-folders", action="store_true",
                        help="write each step into a new folder, deleting nothing (a quiet file system)")
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "compile")
    args = parser.parse_args()

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, args.models, args.versions)
    # Digests and rules' results of files changed within RACY_SECONDS are not kept for the next
    # run (compiler/storage/files.py): the sources are older than that before the first round,
    # as a checkout is, so the rounds after it meet a filled hash index.
    time.sleep(RACY_SECONDS + 0.5)
    env_root = Path(__file__).resolve().parents[1]
    os.environ["PYTHONPATH"] = str(env_root) + os.pathsep + os.environ.get("PYTHONPATH", "")
    os.environ["TRITON_GITOPS_CACHE_DIR"] = str(work / ".cache")  # its own, not the user's (nor another run's)

    def clear(*names):
        return lambda: [shutil.rmtree(work / n, ignore_errors=True) for n in names]

    edited = work / "src" / "model_0000" / "1" / "model.py"
    results = {"cp -r": [], "validate": [], "compile (validates, then writes)": [],
               "validate, then compile (2 processes)": [], "compile --dry-run (up to date)": [],
               "compile --dry-run (1 source changed)": []}
    fresh = iter(range(1_000_000))

    def destination() -> tuple:
        """(folder, what to do first). By default every writer writes the same folder right
        after the previous tree there was deleted: on ext4, creating inodes soon after many
        were deleted costs far more kernel time (the allocator skips recently deleted inodes),
        so each meets the same state. --fresh-folders: a new folder each time, nothing deleted."""
        if args.fresh_folders:
            return f"out-{next(fresh)}", None
        return "out", clear("out")

    for round_ in range(args.repeat):
        dest, before = destination()
        results["cp -r"].append(timed(["cp", "-r", "src", dest], work, before))
        results["validate"].append(timed(CLI + ["validate", "models.yaml"], work))
        dest, before = destination()
        results["compile (validates, then writes)"].append(
            timed(CLI + ["compile", "models.yaml", "--out", dest], work, before))
        dest, before = destination()
        results["validate, then compile (2 processes)"].append(
            timed(CLI + ["validate", "models.yaml"], work, before)
            + timed(CLI + ["compile", "models.yaml", "--out", dest], work))
        dry_run = CLI + ["compile", "models.yaml", "--out", dest, "--dry-run", "--exit-code"]
        results["compile --dry-run (up to date)"].append(timed(dry_run, work, expect=(0,)))
        edited.write_text(edited.read_text() + f"# round {round_}\n")
        results["compile --dry-run (1 source changed)"].append(timed(dry_run, work, expect=(2,)))

    files = sum(1 for _ in (work / dest).rglob("*") if _.is_file())
    floor = statistics.median(results["cp -r"])
    print(f"{args.models} models x {args.versions} versions: {files} files in the repository; "
          f"median of {args.repeat} runs")
    print(f"{'step':<40}{'seconds':>9}{'x cp -r':>9}{'min':>7}{'max':>7}")
    for step, times in results.items():
        median = statistics.median(times)
        print(f"{step:<40}{median:>9.2f}{median / floor:>9.2f}{min(times):>7.2f}{max(times):>7.2f}")
    targets = [
        ("compile <= 1.0x cp -r", statistics.median(results["compile (validates, then writes)"]) <= 1.0 * floor),
        ("compile --dry-run <= 0.2x cp -r", statistics.median(results["compile --dry-run (up to date)"]) <= 0.2 * floor),
        ("validate alone <= 1 s", statistics.median(results["validate"]) <= 1.0),
    ]
    for name, ok in targets:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    return 0 if all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())

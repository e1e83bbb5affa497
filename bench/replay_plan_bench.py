"""Benchmark: the no-op `plan --target s3` at 10,000 models against a store whose CPU is not ours.

    nice -n 5 .venv/bin/python bench/replay_plan_bench.py [--models 10000] [--versions 2] \
        [--latency 0,0.03,0.1] [--repeat 3] [--workdir /tmp/replay_bench] [--cli LABEL=COMMAND ...] [--direct]

Every S3 store that runs here spends 4-15 s of its own CPU listing the 30,001 keys of the scale
bench's 10,000-model tree, on the two cores the tool runs on, so the no-op plan's wall time
measured against it is mostly the store's (docs/benchmarks.md). This bench takes the store's
CPU away and keeps what real S3 costs the tool, a latency per request:

1. the scale bench's tree (bench/scale_bench.py, `generate`), compiled, synced with `--jobs 32`
   to a bucket of SeaweedFS (tests/support/emulators.py; its objects stay under --workdir, so a
   later run finds the bucket filled and that sync is a no-op), then one untimed plan (it keeps
   the plan's local half, compiler/fastpath/plan_half.py, as the scale bench's setup does);
2. record: the plan run twice through a loopback proxy in front of SeaweedFS (bench/s3_replay.py,
   Recorder) that keeps every answer; the two runs (and every --cli) must ask the same requests,
   the same number of times each, and print the same plan, else the bench stops (exit 1);
3. SeaweedFS is stopped (unless --direct: then it stays, and the plan against it is timed too,
   in turns), and each latency gets a replay server (bench/s3_replay.py serve) in a process of
   its own, answering the recorded requests that many seconds after each arrives;
4. one untimed plan per endpoint and command (each with a cache folder of its own, where it keeps
   the plan's local half: a kept half is valid for one storage environment), then --repeat
   rounds, the steps and commands taking turns: each run's wall time, its CPU (user + system, the
   prefetch helper's included: os.wait4), the replay's own CPU and the requests it answered. A
   plan whose output differs from the recorded one's, or that asks a request the recording has
   not (the replay answers 501 NotRecorded), stops the bench (exit 1).

Prints the medians (min-max) and, per latency, whether the wall time is within issue 18's 3 s.
Each --cli (as in scale_bench.py) gets a result cache of its own; `TRITON_GITOPS_STORAGE_TIMEOUT`
is set to 900 s for the setup sync.
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
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.s3_replay import Recorder, stats_of  # noqa: E402 - after the path
from bench.scale_bench import CLI, generate, run  # noqa: E402 - after the path
from compiler.storage.files import RACY_SECONDS  # noqa: E402 - after the path
from tests.support.emulators import SeaweedEmulator  # noqa: E402 - after the path

WALL_TARGET = 3.0  # seconds: issue 18's no-op plan on S3 at 10,000 models x 2 versions


def plan(cli: list, work: Path, env: dict, args: list) -> tuple[float, float, bytes]:
    """(seconds, CPU seconds, standard output) of one whole `plan` process; exits on a failure."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        proc = subprocess.Popen(cli + args, cwd=work, stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        if code != 0:
            sys.exit(f"{' '.join(cli + args)} failed ({code}): {stderr.read().decode(errors='replace')}")
        return elapsed, usage.ru_utime + usage.ru_stime, stdout.read()


def start_replay(recording: Path, latency: float) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, str(HERE / "s3_replay.py"), "serve", str(recording),
                                "--latency", str(latency)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    endpoint = process.stdout.readline().strip()
    if not endpoint:
        sys.exit("the replay server did not start")
    return process, endpoint


def record(store, clis: dict, envs: dict, work: Path, args: list, recording: Path) -> tuple[bytes, Counter]:
    """Runs the plan twice per command through a Recorder in front of `store`, saves the answers
    to `recording`; (the plan's output, the requests of one run). Stops the bench if the runs
    differ in their output or their requests."""
    recorder = Recorder(store.endpoint).start()
    outputs, asked = set(), []
    try:
        for label, cli in clis.items():
            for _ in range(2):
                before = Counter(recorder.requests)
                _, _, output = plan(cli, work, {**envs[label], "AWS_ENDPOINT_URL": recorder.endpoint}, args)
                outputs.add(output)
                asked.append(Counter(recorder.requests) - before)
        recorder.save(recording)
    finally:
        recorder.stop()
    if len(outputs) != 1:
        sys.exit("the recorded plans printed different outputs: " + " | ".join(o.decode()[-300:] for o in outputs))
    if any(one != asked[0] for one in asked):
        sys.exit("the recorded plans asked different requests:\n" +
                 "\n".join(f"  run {i}: {sorted((one - asked[0]) + (asked[0] - one))}" for i, one in enumerate(asked)))
    return outputs.pop(), asked[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--latency", default="0,0.03,0.1", help="seconds per request, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "replay")
    parser.add_argument("--cli", action="append", metavar="LABEL=COMMAND", help="as in scale_bench.py")
    parser.add_argument("--direct", action="store_true", help="also time the plan against SeaweedFS itself, in turns")
    args = parser.parse_args()
    clis = {"": CLI}
    if args.cli:
        clis = {label: shlex.split(command) for label, command in (c.split("=", 1) for c in args.cli)}
    latencies = [float(value) for value in args.latency.split(",")]

    work = args.workdir / str(args.models)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    generate(work, args.models, args.versions)
    store = SeaweedEmulator(args.workdir / "seaweedfs").start()
    replays: dict = {}
    try:
        bucket = store.make_bucket(f"scale{args.models}")
        plan_args = ["plan", "models.yaml", "--target", f"s3://{bucket}/models"]
        envs = {label: {**os.environ, **store.env(), "TRITON_GITOPS_STORAGE_TIMEOUT": "900",
                        "TRITON_GITOPS_CACHE_DIR": str(work / f".cache-{i}")} for i, label in enumerate(clis)}
        started = time.perf_counter()
        for i, (label, cli) in enumerate(clis.items()):
            run(cli + ["compile", "models.yaml", "--out", f"build/compiled-{i}"], work, env=envs[label])
        run(next(iter(clis.values())) + ["sync"] + plan_args[1:] + ["--jobs", "32"], work, env=next(iter(envs.values())))
        time.sleep(RACY_SECONDS + 0.5)  # the plan's local half is kept only for inputs unchanged for RACY_SECONDS
        for label, cli in clis.items():
            plan(cli, work, envs[label], plan_args)
        print(f"setup (compile, sync, one plan): {time.perf_counter() - started:.0f} s", flush=True)

        recording = args.workdir / "recording.json"
        expected, asked = record(store, clis, envs, work, plan_args, recording)
        print(f"recorded: {sum(asked.values())} requests a run ({len(asked)} distinct), the same in "
              f"{2 * len(clis)} runs; {recording.stat().st_size / 1e6:.1f} MB; the plan prints "
              f"{expected.decode(errors='replace').strip().splitlines()[-1:]}", flush=True)
        if not args.direct:
            store.stop()  # from now on no store's CPU on our cores but the replay's

        # Each endpoint a cache folder of its own: the kept local half is one file per manifest and
        # command line, valid for one storage environment (AWS_ENDPOINT_URL among it), so steps
        # sharing one would overwrite each other's and every timed run would be a cold one.
        endpoints: dict = {}  # step -> endpoint
        for latency in latencies:
            process, endpoint = start_replay(recording, latency)
            replays[latency] = (process, endpoint)
            endpoints[f"replay, {latency * 1000:.0f} ms a request"] = endpoint
        if args.direct:
            endpoints["SeaweedFS itself"] = store.endpoint
        steps = {step: {label: {**env, "AWS_ENDPOINT_URL": endpoint,
                                "TRITON_GITOPS_CACHE_DIR": f"{env['TRITON_GITOPS_CACHE_DIR']}-{index}"}
                        for label, env in envs.items()}
                 for index, (step, endpoint) in enumerate(endpoints.items())}
        for step, by_label in steps.items():  # untimed: each keeps the local half in its cache folder
            for label, cli in clis.items():
                check(plan(cli, work, by_label[label], plan_args)[2], expected, step, endpoints[step], store)
        results: dict = {(step, label): [] for step in steps for label in clis}
        for _ in range(args.repeat):
            for step, by_label in steps.items():
                for label, cli in clis.items():
                    before = served(endpoints[step], store)
                    seconds, cpu, output = plan(cli, work, by_label[label], plan_args)
                    after = served(endpoints[step], store)
                    check(output, expected, step, endpoints[step], store)
                    results[step, label].append((seconds, cpu, after[0] - before[0], after[1] - before[1]))
    finally:
        for process, _ in replays.values():
            assert process.stdin is not None
            process.stdin.close()
            process.wait()
        store.stop()
    report(results, clis, args)
    return 0


def served(endpoint: str, store) -> tuple[float, int]:
    """(the server's CPU seconds so far, requests answered so far): a replay's from its stats;
    SeaweedFS's CPU from /proc (its requests are not counted: 0)."""
    if endpoint == store.endpoint:
        with open(f"/proc/{store.proc.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 0
    found = stats_of(endpoint)
    return found["cpu"], found["requests"]


def check(output: bytes, expected: bytes, step: str, endpoint: str, store) -> None:
    """Stops the bench when a plan printed another plan than the recorded one, or asked the replay
    a request it had no answer for."""
    if output != expected:
        sys.exit(f"{step}: the plan printed another output than the recorded run:\n"
                 f"{output.decode(errors='replace')[-2000:]}\n--- recorded:\n{expected.decode(errors='replace')[-2000:]}")
    if endpoint != store.endpoint:
        unrecorded = stats_of(endpoint)["unrecorded"]
        if unrecorded:
            sys.exit(f"{step}: requests without a recording: {unrecorded[:10]}")


def report(results: dict, clis: dict, args) -> None:
    load = os.getloadavg()
    print(f"\nno-op `plan --target s3`, {args.models} models x {args.versions} versions; median of {args.repeat} "
          f"runs (min-max); load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'step':<28}{'command':<10}{'wall s':>8}{'min':>7}{'max':>7}{'our CPU s':>11}{'server CPU s':>14}{'requests':>10}")
    for (step, label), found in results.items():
        wall = [f[0] for f in found]
        print(f"{step:<28}{label:<10}{statistics.median(wall):>8.2f}{min(wall):>7.2f}{max(wall):>7.2f}"
              f"{statistics.median(f[1] for f in found):>11.2f}{statistics.median(f[2] for f in found):>14.2f}"
              f"{statistics.median(f[3] for f in found):>10.0f}")
    print(f"\nwall time <= {WALL_TARGET:.0f} s (issue 18), the median:")
    for (step, label), found in results.items():
        wall = statistics.median(f[0] for f in found)
        print(f"  {step:<28}{label:<10}{wall:>6.2f} s  {'ok' if wall <= WALL_TARGET else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())

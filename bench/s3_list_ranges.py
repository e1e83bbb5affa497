"""Does listing a big S3 target in key ranges at once pay? The plain reader (s3_raw.py) read
sequentially (one ListObjectsV2 loop) and in ranges, in turns, behind a loopback proxy that adds
a fixed latency to every request as S3 has (tests/hardening/faultproxy.py, "slow").

    nice -n 5 .venv/bin/python bench/s3_list_ranges.py [--models 10000] [--latency 0.1,0] \
        [--ranges 4,8] [--repeat 3] [--emulator seaweedfs|moto] [--workdir bench/out/ranges]

The bucket holds what a sync of the scale bench's tree leaves (per model: config.pbtxt and two
versions' model.py, so 3 keys a model) and a state listing those files. SeaweedFS (the default)
keeps its objects under --workdir, so a later run finds the bucket filled. Each round reads the
target once per variant (state and listing, s3_raw.read_target, as the prefetch helper does),
the variants in turns; prints the median wall time, the min and max, and the requests per read.
The proxy runs in a process of its own: in this one, its threads would take the GIL from the
reader's ranges, which the prefetch helper does not share with anybody.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from compiler.fastpath import s3_raw  # noqa: E402 - after the path
from compiler.sync.state import STATE_NAME  # noqa: E402 - after the path
from compiler.sync.target import Target  # noqa: E402 - after the path
from tests.hardening.faultproxy import FaultProxy  # noqa: E402 - after the path
from tests.support.emulators import S3Emulator, SeaweedEmulator  # noqa: E402 - after the path

BUCKET, ROOT = "ranges", "repo"


def files(models: int) -> list:
    return sorted(path for m in range(models) for path in
                  (f"model_{m:05d}/config.pbtxt", f"model_{m:05d}/1/model.py", f"model_{m:05d}/2/model.py"))


def fill(store, models: int) -> None:
    fs = store.fs()
    paths = files(models)
    if fs.exists(f"{BUCKET}/{ROOT}/{STATE_NAME}") and len(fs.find(f"{BUCKET}/{ROOT}")) == len(paths) + 1:
        return
    if not fs.exists(BUCKET):
        store.make_bucket(BUCKET)
    state = {"format": 1, "files": {path: {"size": 8, "sha256": "0" * 64, "md5": "0" * 32, "stamp": "e"}
                                    for path in paths}}
    objects = {f"{BUCKET}/{ROOT}/{path}": b"# model\n" for path in paths}
    objects[f"{BUCKET}/{ROOT}/{STATE_NAME}"] = (json.dumps(state, indent=1) + "\n").encode()
    items = list(objects.items())
    for start in range(0, len(items), 2000):
        fs.pipe(dict(items[start:start + 2000]))


def serve_proxy(upstream: str, latency: float) -> None:
    """The proxy's process: prints its endpoint, serves until stdin closes."""
    proxy = FaultProxy(upstream, rate=1.0 if latency else 0.0, kinds=("slow",), delay=latency).start()
    print(proxy.endpoint, flush=True)
    sys.stdin.read()
    proxy.stop()


def start_proxy(upstream: str, latency: float):
    process = subprocess.Popen([sys.executable, __file__, "--serve-proxy", upstream, str(latency)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def read_once(store, endpoint: str, ranges: int) -> tuple:
    """(seconds, files listed) of one read of the target (state and listing) through `endpoint`;
    ranges=1: the loop."""
    s3_raw.RANGES = max(ranges, 1)
    s3_raw.RANGED_FROM = 2000 if ranges > 1 else 10**12
    options = store.storage_options()
    options["client_kwargs"] = dict(options["client_kwargs"], endpoint_url=endpoint)
    target = Target("", f"s3://{BUCKET}/{ROOT}", None, "", False, endpoint=endpoint, options=options, timeout=120.0)
    counted = [0]
    request = s3_raw._Client._request

    def counting(client, *args, **kwargs):
        counted[0] += 1
        return request(client, *args, **kwargs)
    s3_raw._Client._request = counting
    try:
        started = time.perf_counter()
        seen = s3_raw.read_target(target, environ={})
        took = time.perf_counter() - started
    finally:
        s3_raw._Client._request = request
    if seen is None:
        sys.exit("the plain reader left the read to the SDK")
    return took, len(seen[1].files), counted[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--latency", default="0.1,0", help="seconds added to each request, comma-separated")
    parser.add_argument("--ranges", default="4,8", help="ranges to compare with the loop, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--emulator", default="seaweedfs", choices=("seaweedfs", "moto"))
    parser.add_argument("--workdir", type=Path, default=HERE / "out" / "ranges")
    parser.add_argument("--serve-proxy", nargs=2, metavar=("UPSTREAM", "LATENCY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_proxy:
        serve_proxy(args.serve_proxy[0], float(args.serve_proxy[1]))
        return 0
    kind = SeaweedEmulator if args.emulator == "seaweedfs" else S3Emulator
    store = kind(args.workdir / args.emulator)
    store.start()
    try:
        started = time.perf_counter()
        fill(store, args.models)
        print(f"{args.emulator}: {args.models} models, {3 * args.models + 1} keys "
              f"(filled or checked in {time.perf_counter() - started:.0f} s)")
        variants = [1] + [int(r) for r in args.ranges.split(",")]
        for latency in (float(value) for value in args.latency.split(",")):
            proxy, endpoint = start_proxy(store.endpoint, latency)
            try:
                times: dict = {v: [] for v in variants}
                requests: dict = {}
                keys = set()
                for _ in range(args.repeat):
                    for variant in variants:
                        took, count, requests[variant] = read_once(store, endpoint, variant)
                        times[variant].append(took)
                        keys.add(count)
            finally:
                proxy.stdin.close()
                proxy.wait()
            load = os.getloadavg()
            print(f"\nlatency {latency * 1000:.0f} ms a request (loopback proxy); median of {args.repeat}; "
                  f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; files listed {sorted(keys)}")
            for variant in variants:
                label = "one loop" if variant == 1 else f"{variant} ranges"
                found = times[variant]
                print(f"  {label:<10}{statistics.median(found):>7.2f} s  (min {min(found):.2f}, max {max(found):.2f})"
                      f"  {requests[variant]} requests")
    finally:
        store.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

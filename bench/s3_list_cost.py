"""What an S3 emulator's listing costs the emulator itself, page by page.

    .venv/bin/python bench/s3_list_cost.py --endpoint http://127.0.0.1:PORT --bucket scale \
        --pid EMULATOR_PID [--prefix models/] [--variant max-keys=1000 --variant fetch-owner=true ...]

Lists the whole prefix once per --variant with plain GET requests (http.client, unsigned: moto
and s3rver answer them; no SDK, so the client's share is small), and reads the emulator's own
CPU time (user + system, /proc/PID/stat) before and after each page. A variant is a query
string added to ListObjectsV2's (`list-type=2&prefix=...`); `v1` lists with ListObjects v1
(marker) instead. Prints per variant: pages, keys, the largest page (an emulator that honours
max-keys above 1,000 shows it), wall and emulator CPU in all, and per page (median).
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import time
import urllib.parse

TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def list_once(connection, bucket: str, prefix: str, variant: str, pid: int) -> list:
    """[(seconds, emulator CPU seconds, keys, bytes)] of each page of one whole listing."""
    query = dict(urllib.parse.parse_qsl(variant))
    v1 = query.pop("v1", None) is not None
    query["prefix"] = prefix
    if not v1:
        query["list-type"] = "2"
    cursor: dict = {}
    pages = []
    while True:
        cpu, start = cpu_of(pid), time.perf_counter()
        connection.request("GET", f"/{bucket}?{urllib.parse.urlencode({**query, **cursor})}")
        response = connection.getresponse()
        body = response.read()
        pages.append((time.perf_counter() - start, cpu_of(pid) - cpu, body.count(b"<Contents>"), len(body)))
        if response.status != 200:
            raise SystemExit(f"{variant}: {response.status} {body[:300]!r}")
        if b"<IsTruncated>true</IsTruncated>" not in body:
            return pages
        if v1:
            found = re.search(rb"<NextMarker>(.*?)</NextMarker>", body)
            cursor = {"marker": (found.group(1) if found else re.findall(rb"<Key>(.*?)</Key>", body)[-1]).decode()}
        else:
            token = re.search(rb"<NextContinuationToken>(.*?)</NextContinuationToken>", body)
            cursor = {"continuation-token": token.group(1).decode()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="models/")
    parser.add_argument("--pid", type=int, required=True, help="the emulator's process")
    parser.add_argument("--variant", action="append", help="query added to each request (default: max-keys=1000)")
    args = parser.parse_args()
    where = urllib.parse.urlsplit(args.endpoint)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=900)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for variant in args.variant or ["max-keys=1000"]:
        pages = list_once(connection, args.bucket, args.prefix, variant, args.pid)
        print(f"{variant:<20} pages {len(pages):>4}  keys {sum(p[2] for p in pages):>6}  largest page "
              f"{max(p[2] for p in pages):>6}  wall {sum(p[0] for p in pages):6.2f} s  emulator CPU "
              f"{sum(p[1] for p in pages):6.2f} s  per page: wall {statistics.median(p[0] for p in pages):.3f} s, "
              f"emulator CPU {statistics.median(p[1] for p in pages):.3f} s  ({sum(p[3] for p in pages) / 1e6:.1f} MB)",
              flush=True)


if __name__ == "__main__":
    main()

"""What an S3 emulator's listing costs the emulator itself, page by page.

    .venv/bin/python bench/s3_list_cost.py --endpoint http://127.0.0.1:PORT --bucket scale \
        --pid EMULATOR_PID [--prefix models/] [--variant max-keys=1000 --variant fetch-owner=true ...] \
        [--key testing --secret testing]

Lists the whole prefix once per --variant with plain GET requests (http.client; no SDK, so the
client's share is small): unsigned, which moto and s3rver answer, or with --key/--secret signed
with SigV4 as the prefetch helper signs them (compiler/fastpath/sigv4.py), which a store that
checks credentials (SeaweedFS) needs: it then verifies each signature as it does for the tool,
and that is counted in its CPU too. Reads the emulator's own
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
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compiler.fastpath import sigv4  # after the path: the signing the prefetch helper uses

TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def signed(connection, bucket: str, query: dict, credentials, region: str) -> tuple[str, dict]:
    """(the request target, its headers): unsigned without credentials, else SigV4."""
    if credentials is None:
        return f"/{bucket}?{urllib.parse.urlencode(query)}", {}
    canonical = sigv4.query_string(query.items())
    path = "/" + sigv4.uri_encode(bucket, keep_slash=True)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    host = f"{connection.host}:{connection.port}"
    return f"{path}?{canonical}", sigv4.sign("GET", host, path, canonical, region, credentials, amz_date)


def list_once(connection, bucket: str, prefix: str, variant: str, pid: int, credentials=None,
              region: str = "us-east-1") -> list:
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
        url, headers = signed(connection, bucket, {**query, **cursor}, credentials, region)
        connection.request("GET", url, headers=headers)
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
    parser.add_argument("--key", help="access key: sign the requests (SigV4) instead of sending them unsigned")
    parser.add_argument("--secret", help="with --key: its secret")
    parser.add_argument("--region", default="us-east-1", help="with --key: the region signed for")
    args = parser.parse_args()
    credentials = sigv4.Credentials(args.key, args.secret or "") if args.key else None
    where = urllib.parse.urlsplit(args.endpoint)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=900)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for variant in args.variant or ["max-keys=1000"]:
        pages = list_once(connection, args.bucket, args.prefix, variant, args.pid, credentials, args.region)
        print(f"{variant:<20} pages {len(pages):>4}  keys {sum(p[2] for p in pages):>6}  largest page "
              f"{max(p[2] for p in pages):>6}  wall {sum(p[0] for p in pages):6.2f} s  emulator CPU "
              f"{sum(p[1] for p in pages):6.2f} s  per page: wall {statistics.median(p[0] for p in pages):.3f} s, "
              f"emulator CPU {statistics.median(p[1] for p in pages):.3f} s  ({sum(p[3] for p in pages) / 1e6:.1f} MB)",
              flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: the first upload of a model of two big files (1 GiB each by default) to S3 (moto on
loopback): `triton-gitops sync` against `rclone sync --checksum --fast-list` and
`aws s3 cp --recursive`, each on an empty bucket, taking turns at going first.

    .venv/bin/python bench/big_upload_bench.py [--gib 1] [--repeat 3]   # needs rclone and awscli
    .venv/bin/python bench/big_upload_bench.py --s3-emulator seaweedfs    # SeaweedFS instead of moto

Each run is a whole process; the table shows wall time, the process's own CPU time and peak
RSS (/usr/bin/time: the tool's process, or for ours the largest of ours and the prefetch helper),
and from moto's access log the requests and the multipart parts uploaded. Ours runs twice
per round: with an empty hash index (a fresh CI runner: the 2 GiB are hashed with sha256
first) and with the index filled by `triton-gitops lock` beforehand (hashed already); and a third
time from a git repository (a folder beside the first, the same files hard-linked) where the two
files are tracked by Git LFS and committed before the rounds, with an empty index: their sha256
then comes from the LFS pointers git vouches for (compiler/artifacts/lfs_digest.py).
The bucket is then read back and compared by md5 with the source files. On SeaweedFS the
requests come from its metrics (sync_bench.py, Seaweed) and the parts are not counted ("-").
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sync_bench import Moto, Seaweed, compile_repo  # noqa: E402

MANIFEST = """\
version: 1
models:
  big:
    platform: onnxruntime_onnx
    max_batch_size: 0
    input: [{name: X, data_type: FP32, dims: [1]}]
    output: [{name: Y, data_type: FP32, dims: [1]}]
    versions:
      1: {source: src/big/1}
targets:
  # s3fs waits 15 s for an answer by default; moto's CompleteMultipartUpload of a 1 GiB object
  # (it joins the parts in memory and writes the object to a temporary file) takes longer under
  # load, s3fs sends it again, and moto fails the repeat on the parts the first one disposed of
  # ("seek of closed file", then KeyError). S3 itself keeps a long complete alive with
  # whitespace; awscli waits 60 s, rclone 5 minutes. Same patience here: 300 s.
  bench:
    url: s3://${BIG_BENCH_BUCKET}/models
    storage_options: {config_kwargs: {read_timeout: 300}}
"""
NAMES = ("model.onnx", "model.onnx.data")


def generate(work: Path, size: int) -> Path:
    folder = work / "src" / "big" / "1"
    folder.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        path = folder / name
        if not path.exists() or path.stat().st_size != size:
            with open(path, "wb") as out:
                for offset in range(0, size, 64 << 20):
                    out.write(os.urandom(min(64 << 20, size - offset)))  # incompressible, like weights
    (work / "models.yaml").write_text(MANIFEST)
    return work / "models.yaml"


def lfs_checkout(top: Path, work: Path) -> Path:
    """A git repository at top/lfs holding the manifest and the two files (hard links to the
    generated ones), committed with the files tracked by Git LFS; its manifest's path."""
    lfs = top / "lfs"
    shutil.rmtree(lfs, ignore_errors=True)
    folder = lfs / "src" / "big" / "1"
    folder.mkdir(parents=True)
    for name in NAMES:
        os.link(work / "src" / "big" / "1" / name, folder / name)
    (lfs / "models.yaml").write_text(MANIFEST)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for args in (["init", "-q"], ["lfs", "install", "--local"], ["lfs", "track", "*.onnx", "*.onnx.data"]):
        subprocess.run(["git", "-C", str(lfs), *args], env=env, check=True, capture_output=True)
    # the links changed the files' ctime: a file changed in the index's own second is racily
    # clean, and lfs_digest never trusts one; a checkout done a moment before the job is not
    time.sleep(1.05 - time.time() % 1)
    for args in (["add", "-A"], ["commit", "-q", "-m", "model"]):
        subprocess.run(["git", "-C", str(lfs), *args], env=env, check=True, capture_output=True)
    return lfs / "models.yaml"


def timed(command, env, cwd) -> tuple:
    """(wall seconds, CPU seconds, peak RSS MB) of one process."""
    # Through /usr/bin/time: Linux carries a process's peak RSS across fork and exec, so a tool
    # started straight from this (bigger) process would report this one's peak as its own.
    started = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", *command], env=env, cwd=cwd, capture_output=True,
                          text=True)
    seconds = time.monotonic() - started
    _, user, system, peak_kb = proc.stderr.strip().splitlines()[-1].split()[-4:]
    if proc.returncode != 0:  # moto fails some multipart uploads under load: shown, not fatal
        print(f"{command[:3]} failed ({proc.returncode}):\n{proc.stderr[-1500:]}", flush=True)
        return None, float(user) + float(system), int(peak_kb) / 1024
    return seconds, float(user) + float(system), int(peak_kb) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="size of each of the two files")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--part-jobs", type=int, default=4, help="our parts in flight per file")
    parser.add_argument("--check-bytes", action="store_true", help="read every object back (slow on moto)")
    parser.add_argument("--workdir", type=Path, help="keep the generated files here (default: a temporary folder)")
    parser.add_argument("--s3-emulator", choices=("moto", "seaweedfs"), default="moto",
                        help="the S3 the tools upload to (seaweedfs: SeaweedFS, installed by bootstrap.sh)")
    parser.add_argument("--baseline", type=Path, help="another source tree of the project (e.g. `git archive main`): "
                        "its sync too, in the same rounds, as `baseline` rows")
    args = parser.parse_args()
    size = int(args.gib * (1 << 30))
    # the bench target's bucket comes from the environment, which the storage policy must allow
    os.environ["TRITON_GITOPS_ALLOWED_ENV"] = "BIG_BENCH_BUCKET"
    os.environ.setdefault("BIG_BENCH_BUCKET", "compile-only")
    top = args.workdir or Path(tempfile.mkdtemp(prefix="big-upload-"))
    top.mkdir(parents=True, exist_ok=True)
    work = top / "work"
    work.mkdir(exist_ok=True)
    manifest = generate(work, size)
    base_env = {**os.environ, "PYTHONPATH": str(REPO)}
    compile_repo(manifest, work / "repo", base_env)
    lfs_manifest = lfs_checkout(top, work)
    subprocess.run(["cat", *map(str, (work / "src" / "big" / "1").iterdir())], stdout=subprocess.DEVNULL, check=True)
    moto = Seaweed(top / "seaweedfs") if args.s3_emulator == "seaweedfs" else Moto(top / "moto")
    rows: dict = {}
    try:
        endpoint = moto.emulator.endpoint
        aws_env = {**os.environ, **moto.emulator.env()}
        rclone_env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        rclone_env.update({"RCLONE_CONFIG_MOTO_TYPE": "s3", "RCLONE_CONFIG_MOTO_PROVIDER": "Other",
                           "RCLONE_CONFIG_MOTO_ENDPOINT": endpoint, "RCLONE_CONFIG_MOTO_ACCESS_KEY_ID": "testing",
                           "RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY": "testing", "RCLONE_CONFIG_MOTO_REGION": "us-east-1"})
        for rep in range(args.repeat):
            ours_env = {**aws_env, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(top / f"cache{rep}"),
                        "TRITON_GITOPS_PART_JOBS": str(args.part_jobs)}
            ours = [sys.executable, "-m", "compiler", "sync", str(manifest), "--jobs", str(args.jobs), "--target",
                    "bench"]
            ours_lfs = [*ours[:4], str(lfs_manifest), *ours[5:]]
            table = [
                ("triton-gitops sync (hash index empty)", lambda b, ours=ours: ours, ours_env, None),
                ("triton-gitops sync (hashed already)", lambda b, ours=ours: ours, ours_env,
                 [sys.executable, "-m", "compiler", "lock", str(manifest)]),
                ("triton-gitops sync (LFS checkout, index empty)", lambda b, ours_lfs=ours_lfs: ours_lfs, ours_env,
                 None),
                ("rclone sync --checksum --fast-list", lambda b: ["rclone", "sync", "--checksum", "--fast-list",
                                                                  str(work / "repo"), f"moto:{b}/models"],
                 rclone_env, None),
                ("aws s3 cp --recursive", lambda b: ["aws", "s3", "cp", "--recursive", "--only-show-errors",
                                                     str(work / "repo"), f"s3://{b}/models",
                                                     "--endpoint-url", endpoint], aws_env, None),
            ]
            if args.baseline:
                base_env = {**ours_env, "PYTHONPATH": str(args.baseline)}
                table[3:3] = [(f"baseline {label[len('triton-gitops '):]}", command, base_env,
                               before and [*before[:-2], "lock", str(manifest)])
                              for label, command, _, before in table[:2]]
            table = table[rep % len(table):] + table[:rep % len(table)]
            for label, command, env, before in table:
                bucket = moto.emulator.make_bucket()
                # a hash index of its own per row: "index empty" must not find the one a "hashed
                # already" row filled before it in a rotated round
                env = {**env, "BIG_BENCH_BUCKET": bucket, "XDG_CACHE_HOME": str(top / f"cache{rep}" / label[:40])}
                if before:
                    subprocess.run(before, env=env, cwd=work, check=True, capture_output=True)
                os.sync()
                moto.mark(bucket)
                wall, cpu, rss = timed(command(bucket), env, work)
                count, _, requests = moto.observed(bucket)
                parts = sum(1 for m, _, q in requests if m == "PUT" and "partNumber" in q) if requests else None
                right = wall is not None and bucket_holds(moto, bucket, work / "repo", args.check_bytes)
                wall = wall if wall is not None else float("nan")
                rows.setdefault(label, []).append((wall, cpu, rss, count, "-" if parts is None else parts, right))
                print(f"{rep}: {label:<40} {wall:6.2f} s  cpu {cpu:6.2f} s  peak RSS {rss:5.0f} MB  "
                      f"{count:4d} requests  {'-' if parts is None else parts:>4} parts  "
                      f"{'right' if right else 'WRONG'}", flush=True)
                moto.emulator.fs().rm(f"{bucket}", recursive=True)  # moto keeps objects in memory, SeaweedFS on disk
            shutil.rmtree(top / f"cache{rep}", ignore_errors=True)
    finally:
        moto.emulator.stop()
        if not args.workdir:
            shutil.rmtree(top, ignore_errors=True)
    print(f"\ntwo files of {args.gib:g} GiB, median of {args.repeat}:\n")
    print("| tool | wall time (median) | min - max | CPU s | peak RSS MB | requests | parts | right |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label, runs in rows.items():
        walls = sorted(r[0] for r in runs)
        mid = sorted(runs)[len(runs) // 2]
        print(f"| `{label}` | {mid[0]:.2f} s | {walls[0]:.2f} - {walls[-1]:.2f} | {mid[1]:.2f} | "
              f"{max(r[2] for r in runs):.0f} | {mid[3]} | {mid[4]} | {'yes' if all(r[5] for r in runs) else 'no'} |")
    return 0


def bucket_holds(moto, bucket: str, repo: Path, check_bytes: bool) -> bool:
    """Both files there with their sizes; with check_bytes, their md5 too (tests/sync/test_big_files.py
    checks the bytes of a multipart upload on every run)."""
    fs = moto.emulator.fs()
    for name in NAMES:
        rel = f"big/1/{name}"
        if fs.info(f"{bucket}/models/{rel}")["size"] != (repo / rel).stat().st_size:
            return False
        if not check_bytes:
            continue
        digest = hashlib.md5()
        with fs.open(f"{bucket}/models/{rel}", "rb", block_size=64 << 20) as handle:
            for chunk in iter(lambda: handle.read(64 << 20), b""):
                digest.update(chunk)
        local = hashlib.md5()
        with open(repo / rel, "rb") as handle:
            for chunk in iter(lambda: handle.read(64 << 20), b""):
                local.update(chunk)
        if digest.digest() != local.digest():
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Re-judge the generated cases with the real tritonserver and write the committed verdicts.

    .venv/bin/python scripts/judge.py                       # all cases -> tests/judge/verdicts.tsv
    .venv/bin/python scripts/judge.py --only warmup_batch_above_max-00,version_folder_zero-01 --out /tmp/v.tsv
    .venv/bin/python scripts/judge.py --category warmup_ --out /tmp/v.tsv

Run it whenever tests/judge/generator.py or the Triton version changes; then run
`scripts/test.sh tests/judge` to see where lint and Triton disagree.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.judge.generator import CATEGORIES, DEFAULT_SEED, generate  # noqa: E402
from tests.judge.judge import Judge, read_verdicts, write_verdicts  # noqa: E402

VERDICTS = ROOT / "tests" / "judge" / "verdicts.tsv"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--only", default="", help="comma-separated case ids")
    parser.add_argument("--category", default="", help="only categories whose name starts with this")
    parser.add_argument("--jobs", type=int, default=3, help="loads in flight at once (default 3)")
    parser.add_argument("--timeout", type=float, default=45.0, help="seconds before a load counts as a hang")
    parser.add_argument("--out", type=Path, default=VERDICTS)
    parser.add_argument("--merge", action="store_true", help="update these cases in --out, keep the other rows")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the repository and server logs here")
    args = parser.parse_args(argv)

    only = {c for c in args.only.split(",") if c} or None
    cases = [c for c in generate(args.seed, only) if c.category.startswith(args.category)]
    if not cases:
        print("judge: no case selected", file=sys.stderr)
        return 1
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="triton-judge-"))
    print(f"judge: {len(cases)} cases of {len({c.category for c in cases})} categories (seed {args.seed}), "
          f"{args.jobs} at once, timeout {args.timeout:.0f}s; repository and logs in {workdir}", flush=True)
    started = time.monotonic()
    judge = Judge(cases, workdir, jobs=args.jobs, timeout=args.timeout,
                  progress=lambda text: print(f"judge: {text}", flush=True))
    verdicts = judge.run()
    command = "scripts/judge.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    if args.merge and args.out.exists():
        meta, old = read_verdicts(args.out)
        if int(meta.get("seed", args.seed)) != args.seed:
            print("judge: --merge needs the seed of the existing verdicts", file=sys.stderr)
            return 1
        old.update({v.case: v for v in verdicts})
        order = [c.id for c in generate(args.seed)]
        verdicts = [old[c] for c in order if c in old]
        command = meta.get("command", command)
    write_verdicts(args.out, verdicts, args.seed, judge.version, command.strip())
    counts = Counter(v.outcome for v in verdicts)
    print(f"judge: tritonserver {judge.version}: {len(verdicts)} cases, "
          f"{len({v.category for v in verdicts})} categories: "
          + ", ".join(f"{k} {counts.get(k, 0)}" for k in ("accepted", "rejected", "hang", "crash"))
          + f" in {time.monotonic() - started:.0f}s -> {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["CATEGORIES", "main"]

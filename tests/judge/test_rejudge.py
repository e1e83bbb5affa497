"""The committed verdicts still hold: a random sample of cases is judged again by the real
tritonserver, and each must again be accepted, or again be refused (rejected, hang or crash), as
recorded in tests/judge/verdicts.tsv.

Hangs are left out of the sample (each costs the full timeout); crashes and every other outcome
are in. The sample changes every run; JUDGE_SAMPLE_SEED=<n> repeats one (the seed is printed).
When this fails, the generator, the tiny model or the Triton in use changed: re-run
`scripts/judge.py` and look at what tests/judge/test_agreement.py says then.
"""
from __future__ import annotations

import os
import random

import pytest

from tests.judge.generator import generate
from tests.judge.judge import Judge, read_verdicts
from tests.judge.test_agreement import VERDICTS

pytestmark = pytest.mark.triton
SAMPLE = 6


def test_a_random_sample_is_judged_as_recorded(tmp_path):
    from support.triton import tritonserver_binary

    if tritonserver_binary() is None:
        pytest.skip("tritonserver binary not installed (run scripts/bootstrap.sh)")
    meta, verdicts = read_verdicts(VERDICTS)
    seed = int(os.environ.get("JUDGE_SAMPLE_SEED", random.SystemRandom().randrange(10 ** 6)))
    rng = random.Random(seed)
    pool = sorted(case for case, v in verdicts.items() if v.outcome != "hang")
    accepted = [c for c in pool if verdicts[c].outcome == "accepted"]
    refused = [c for c in pool if verdicts[c].outcome != "accepted"]
    chosen = set(rng.sample(accepted, SAMPLE // 2) + rng.sample(refused, SAMPLE - SAMPLE // 2))
    cases = generate(int(meta["seed"]), only=chosen)
    assert {c.id for c in cases} == chosen, "verdicts name cases the generator no longer makes: re-judge"

    results = Judge(cases, tmp_path, jobs=2, timeout=60).run()

    # What lint is held to is accepted versus refused; among refusals a crash is intermittent (a
    # warmup batch above max_batch_size crashed the server in one run and was refused in the next).
    drift = [f"{v.case}: recorded {verdicts[v.case].outcome}, now {v.outcome} ({v.message[:200]})"
             for v in results if (v.outcome == "accepted") != (verdicts[v.case].outcome == "accepted")]
    print(f"\nJUDGE_SAMPLE_SEED={seed}: " + ", ".join(f"{v.case}={v.outcome} (recorded {verdicts[v.case].outcome})"
                                                     for v in results))
    assert not drift, f"JUDGE_SAMPLE_SEED={seed}: verdicts went stale; run scripts/judge.py:\n  " + "\n  ".join(drift)

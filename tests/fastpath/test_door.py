"""One door, one switch: compiler.fastpath.begin (what the console script runs first) forks the
target reader and tunes the collector for sync/plan, and TRITON_GITOPS_FASTPATH=0 stops all of
it (the per-model cache's own switch is tested in test_results.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

_BEGIN = """
    import gc, json, sys
    from compiler import fastpath
    default = gc.get_threshold()[0]
    fastpath.begin(json.loads(sys.argv[1]))
    prefetch = sys.modules.get("compiler.fastpath.prefetch")
    forked = [guess for guess, helper in prefetch._early] if prefetch else []
    for _, helper in (prefetch._early if prefetch else []):
        helper.cancel()
    print(json.dumps({"forked": forked, "collector": gc.get_threshold()[0] != default,
                      "reader": fastpath.target_reader("s3://b/p", ("models.yaml",)) is not None}))
"""


def _begin(argv: list, setting: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_BEGIN), json.dumps(argv)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO),
                                                       "TRITON_GITOPS_FASTPATH": setting,
                                                       "TRITON_GITOPS_PREFETCH": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("setting, on", [("1", True), ("0", False), ("off", False)])
def test_one_setting_turns_every_trick_on_or_off(setting, on):
    seen = _begin(["plan", "models.yaml", "--target", "s3://b/p"], setting)
    assert seen == {"forked": ["s3://b/p"] if on else [], "collector": on, "reader": on}


def test_other_commands_get_no_tricks():
    assert _begin(["validate", "models.yaml"], "1") == {"forked": [], "collector": False, "reader": True}

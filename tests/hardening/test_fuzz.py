"""Fuzz: hostile manifests end in exit 0 (and then compile) or in located problems, never a traceback.

Fixed seed (derandomize) and a bounded number of examples, so the default run is the same
every time and stays well under a minute; `scripts/fuzz.sh` runs the same properties with
as many cases as asked (see tests/hardening/harness.py for the properties).
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.hardening import strategies as s
from tests.hardening.harness import check_case

# Examples per test in the default run; the whole hardening run stays under ~60 s.
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=200, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much, HealthCheck.large_base_example])


@FUZZ
@given(raw=s.mutated_example())
def test_mutated_example_manifest(workspace, raw):
    check_case(workspace, raw)


@FUZZ
@given(raw=s.small_manifest())
def test_generated_manifest(workspace, raw):
    check_case(workspace, raw)


@FUZZ
@given(raw=s.one_hostile_manifest())
def test_one_hostile_value_in_a_valid_manifest(workspace, raw):
    check_case(workspace, raw)


@FUZZ
@given(raw=s.raw_bytes())
def test_damaged_bytes(workspace, raw):
    check_case(workspace, raw)


def test_the_unmutated_example_compiles(workspace):
    """The seed of the mutations is itself a passing case (else every mutation would fail alike)."""
    from tests.helpers import REPO

    outcome = check_case(workspace, (REPO / "models.yaml").read_bytes())
    assert outcome.code == 0 and outcome.compiled

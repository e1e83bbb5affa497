"""The yes/no schema check must agree with jsonschema: a "yes" skips the detailed pass, so a
lenient fastcheck would let an invalid manifest through unreported."""
from __future__ import annotations

import functools

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.manifest import fastcheck
from compiler.manifest.validate import _validator
from compiler.manifest.yaml_source import load_bytes
from tests.hardening import strategies as s
from tests.helpers import REPO

FIXTURES = sorted((REPO / "tests" / "fixtures" / "manifests").rglob("*.yaml")) + [REPO / "models.yaml"]
AGREE = settings(derandomize=True, database=None, deadline=None, max_examples=400,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much, HealthCheck.large_base_example])


@functools.lru_cache(maxsize=1)
def _reference():
    return _validator()


def _agree(data) -> bool:
    expected = _reference().is_valid(data)
    assert fastcheck.is_valid(data) is expected, f"jsonschema says valid={expected} for {data!r:.500}"
    return expected


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_agrees_on_every_fixture(path):
    document = load_bytes(path.read_bytes(), path.name)
    if document.data is not None:
        _agree(document.data)


def test_both_answers_occur_in_the_fixtures():
    answers = {_agree(load_bytes(p.read_bytes(), p.name).data) for p in FIXTURES
               if load_bytes(p.read_bytes(), p.name).data is not None}
    assert answers == {True, False}


@AGREE
@given(tree=st.one_of(s.mutate(s.example_tree()), s.gently(s.example_tree())))
def test_agrees_on_mutated_examples(tree):
    _agree(tree)


@AGREE
@given(tree=s.small_tree())
def test_agrees_on_generated_manifests(tree):
    _agree(tree)


@pytest.mark.parametrize("value, valid", [
    (1, True), (1.0, True), (True, False), ("1", False), (2, False)])
def test_json_equality_for_const(value, valid):
    # `version: true` is not `version: 1`, although True == 1 in Python.
    assert fastcheck.compile_check({"const": 1})(value) is valid
    assert jsonschema.Draft202012Validator({"const": 1}).is_valid(value) is valid


@pytest.mark.parametrize("value, valid", [(3, True), (3.0, True), (3.5, False), (False, False), (None, False)])
def test_integer_type_follows_json_schema(value, valid):
    assert fastcheck.compile_check({"type": "integer"})(value) is valid


def test_dollar_in_a_pattern_is_the_end_of_the_string():
    check = fastcheck.compile_check({"pattern": "^[a-z]+$"})
    assert check("name") and not check("name\n")


def test_an_unknown_keyword_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match="uniqueItems"):
        fastcheck.compile_check({"type": "array", "uniqueItems": True})

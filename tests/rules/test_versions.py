from compiler.rules import versions
from tests.rules.util import one, run


def test_default_policy_with_versions_is_fine():
    assert run('name: "m"', versions, versions={1, 2}) == []
    assert run('name: "m"', versions) == []  # versions unknown


def test_no_version_folder():
    problem = one(run('name: "m"', versions, versions=set()), "version-none")
    assert "at least one version must be available under the version policy of model 'm'" in problem.message


def test_versions_must_be_version_numbers():
    problems = run('name: "m"', versions, versions={0, "01", "x", -2, 3})
    assert len(problems) == 3 and {p.rule for p in problems} == {"version-number"}
    assert "'01' is not a version number" in " ".join(p.message for p in problems)
    assert run('name: "m"', versions, versions={0}) == []  # Triton 2.51 loads a folder 0 (tests/judge)


def test_specific_version_missing_while_others_load_is_a_warning():
    problem = one(run('name: "m" version_policy { specific { versions: [ 1, 3 ] } }', versions, versions={1}),
                  "version-missing")
    assert problem.severity == "warning"  # Triton 2.51 loads version 1 (tests/judge)


def test_latest_zero_selects_nothing():
    problem = one(run('name: "m" version_policy { latest { } }', versions, versions={1}), "version-policy-empty")
    assert problem.path == ("version_policy", "latest", "num_versions")
    assert "at least one version must be available" in problem.message


def test_specific_version_missing():
    problems = run('name: "m" version_policy { specific { versions: [ 1, 3 ] } }', versions, versions={1, 2})
    problem = one(problems, "version-missing")
    assert problem.message == "version 3 is specified for model 'm', but the version directory is not present"
    assert problem.path == ("version_policy", "specific", "versions", 1)
    assert problem.hint == "existing versions: 1, 2"


def test_specific_versions_none_present():
    problems = run('name: "m" version_policy { specific { versions: [ 7 ] } }', versions, versions={1})
    assert [p.rule for p in problems] == ["version-missing", "version-policy-empty"]


def test_specific_without_versions():
    problem = one(run('name: "m" version_policy { specific { } }', versions), "version-policy-empty")
    assert problem.path == ("version_policy", "specific", "versions")


def test_all_policy():
    assert run('name: "m" version_policy { all { } }', versions, versions={4}) == []

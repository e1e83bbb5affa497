from compiler.rules import names
from tests.rules.util import BASE, one, run


def test_valid_name_matching_folder_has_no_problem():
    assert run(BASE, names, name="m") == []


def test_name_with_slash_is_rejected():
    problem = one(run('name: "a/b"', names, name=""), "model-name")
    assert problem.path == ("name",)
    assert "'a/b' is not allowed" in problem.message
    assert problem.is_error and problem.hint


def test_dot_dot_name_is_rejected():
    problem = one(run('name: ".."', names, name=""), "model-name")
    assert "'..'" in problem.message


def test_name_differs_from_folder():
    problem = one(run('name: "other"', names, name="m"), "model-name-mismatch")
    assert problem.path == ("name",)
    assert "'other'" in problem.message and "'m'" in problem.message
    assert 'name: "m"' in problem.hint


def test_bad_folder_name_reported_when_config_has_no_name():
    problem = one(run("max_batch_size: 1", names, name="my model"), "model-name")
    assert "folder name 'my model'" in problem.message
    assert problem.path == ()


def test_unknown_folder_name_skips_the_comparison():
    assert run('name: "anything"', names, name="") == []

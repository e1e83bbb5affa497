from compiler.console import problem_line
from compiler.errors import Problem


def test_problem_lines_show_a_position_only_when_there_is_one():
    located = Problem("bad", "r", ("models", "m"), file="models.yaml", line=3, column=5, hint="fix it")
    assert problem_line(located, colour=False) == "models.yaml:3:5: error: models.m: bad [r]\n    hint: fix it"
    whole_file = Problem("no config", "config-missing", (), severity="warning", file="repo/m")
    assert problem_line(whole_file, colour=False) == "repo/m: warning: no config [config-missing]"

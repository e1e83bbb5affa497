"""compiler/cli.py: the dispatch table and the parser name the same commands."""
import argparse

from compiler.cli import COMMANDS, build_parser


def _subcommands() -> set:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_every_command_the_parser_knows_has_a_runner_and_no_other():
    assert _subcommands() == set(COMMANDS)


def test_each_runner_reaches_its_command_module(capsys):
    # `schema` prints the JSON Schema: a runner that imported the wrong module would not.
    assert COMMANDS["schema"](build_parser().parse_args(["schema"])) == 0
    assert '"$schema"' in capsys.readouterr().out


def test_import_dispatches_by_its_own_name():
    # `import` is a Python keyword; its options keep command="import" (no module-name workaround).
    options = build_parser().parse_args(["import", "somewhere"])
    assert options.command == "import" and COMMANDS["import"].__name__ == "_import"

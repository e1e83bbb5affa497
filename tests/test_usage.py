"""Exit codes mean one thing: a usage error is an error (1), never "changes pending" (2), and
each command's --help states its own codes and what its --output json prints."""
from __future__ import annotations

import subprocess
import sys

import pytest

from compiler.cli import build_parser, main
from compiler.usage import EXIT_CODES, JSON_OUTPUT
from tests.helpers import REPO


@pytest.mark.parametrize("argv", [
    ["validate", "--no-such-option"],            # unknown option
    ["validate", "--output", "yaml"],            # bad choice
    ["no-such-command"],                          # unknown command
    ["cache"],                                    # missing subcommand
    ["cache", "prune", "--older-than", "soon"],  # bad value, in a sub-subcommand
    ["sync", "--jobs", "many"],                   # a value of the wrong type
])
def test_usage_errors_exit_1_not_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "usage: triton-gitops" in err and "error:" in err


def test_a_usage_error_exits_1_from_the_console_script_too():
    proc = subprocess.run([sys.executable, "-m", "compiler", "plan", "--taget", "prod"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "unrecognized arguments: --taget" in proc.stderr


def _help(command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return sub.format_help()


@pytest.mark.parametrize("command", sorted(EXIT_CODES))
def test_each_commands_help_states_its_own_exit_codes(command):
    text = _help(command)
    codes = text.split("exit codes:\n", 1)[1]
    assert "  0  " in codes and "  130  interrupted" in codes
    pending = "  2  " in codes
    assert pending == (command in {"compile", "plan", "sync", "lock", "report", "status", "drift"}), codes


def test_status_help_says_2_is_drift():
    assert "2  drift: the server serves something else" in _help("status")


@pytest.mark.parametrize("command", sorted(JSON_OUTPUT))
def test_output_json_is_described_per_command(command):
    text = " ".join(_help(command).split())
    assert "json: {" in text
    keys = {"validate": '"errors"', "plan": '"in_sync"', "status": '"drift"', "rollout": '"counts"',
            "targets": '"targets"', "compile": '"up_to_date"', "lint": '"problems"', "sync": "sent_files",
            "lock": '"changed"', "explain": '"description"', "drift": '"unchecked"'}
    assert keys[command] in text

"""What each command's `--help` says about its exit codes and its `--output json`.

Exit codes mean one thing across commands: 0 ok, 1 error (a usage error included: a CI step
whose arguments have a typo must fail, never read as "changes pending"), 2 changes pending
or drift, 130 interrupted. Each command lists only the codes it can return (`report` keeps
its own list, REPORT_EXIT_CODES).
"""
from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 1  # argparse's own default is 2, which here means "changes pending"

_ERROR = "1  error: bad arguments, invalid input, unreachable target or server; nothing half-written"
_INTERRUPTED = "130  interrupted (Ctrl-C)"

# `report` writes its report even when it fails, so its list reads differently.
REPORT_EXIT_CODES = ("exit codes:\n"
                     "  0  the report was written\n"
                     "  1  an error, or the manifest does not validate, or a target's plan failed\n"
                     "     (the report is still written: the PR shows why its check failed)\n"
                     "  2  with --exit-code: a model or a target changes")

EXIT_CODES = {
    "validate": ["0  no errors (warnings do not fail)", "1  errors found, or bad arguments"],
    "compile": ["0  written, or already up to date; with --dry-run: shown",
                _ERROR, "2  with --dry-run --exit-code: the folder would change"],
    "plan": ["0  the target is in sync", _ERROR, "2  a sync would change the target"],
    "sync": ["0  the target holds the manifest's repository (synced, or already in sync)",
             _ERROR, "2  with --dry-run: a sync would change the target"],
    "lint": ["0  no errors (warnings do not fail)", "1  errors found, nothing to lint, or bad arguments"],
    "schema": ["0  printed", "1  bad arguments"],
    "explain": ["0  explained (or listed)", "1  an unknown field, or bad arguments"],
    "lock": ["0  models.lock written or already up to date", _ERROR,
             "2  with --check: models.lock would change"],
    "cache": ["0  done", _ERROR],
    "init": ["0  scaffolded", "1  a file exists (use --force), unwritable folder, or bad arguments"],
    "targets": ["0  listed", _ERROR],
    "completion": ["0  printed", "1  bad arguments"],
    "import": ["0  manifest written", _ERROR],
    "rollout": ["0  every model READY (and --smoke/--perf passed)",
                "1  a load, smoke or perf run failed, the server is unreachable, or bad arguments"],
    "status": ["0  the server serves what the manifest says", _ERROR,
               "2  drift: the server serves something else"],
    "drift": ["0  every target's storage and servers hold what the manifest says (an open drift issue is closed)",
              "1  error, or a target's storage or server could not be checked (the issue says which)",
              "2  drift: a target's storage or servers differ (the issue is opened or updated)"],
}

# What `--output json` prints, per command (one JSON document on stdout).
JSON_OUTPUT = {
    "validate": 'json: {"problems": [{file, line, column, path, severity, rule, message, hint}], '
                '"errors": N, "warnings": N}',
    "compile": 'json: {"out", "files", "bytes", "up_to_date"}; with --dry-run: {"out", "pending", '
               '"sources": [...], "changes": [{action, path, model, size, old_size}]}',
    "plan": 'json: {"target", "in_sync", "changes": [{action, path, model, size, reason, skipped, method}], '
            '"models": {name: {status, counts}}, "unmanaged": [paths], "state_damaged"}',
    "sync": "json: {plan's fields, and dry_run, sent_files, sent_bytes, copied_server_side, deleted, "
            "skipped_deletes, seconds, revision}",
    "lint": 'json: {"problems": [{file, line, column, path, severity, rule, message, hint}], '
            '"errors": N, "warnings": N}',
    "explain": 'json: {"field", "description", "type", "required", "default", "example", "proto", '
               '"proto_type", "added_in", "values", "keys", "short_forms"}',
    "lock": 'json: {"lock", "changed", "written", "versions": [...]}',
    "targets": 'json: {"targets": [{name, kind, url}]}',
    "rollout": 'json: {"triton_url", "ok", "counts": {loaded, unchanged, failed, unloaded}, '
               '"models": [...], "smoke": [...], "perf": [...]}',
    "status": 'json: {"triton_url", "in_sync", "models": N, "drift": [{model, kind, message, details}]}',
    "drift": 'json: {"in_sync", "drifted", "unchecked", "revision", "targets": [{target, url, in_sync, storage: '
             '{plan\'s fields, error}, servers: [{triton_url, in_sync, error, drift}]}], "issue": {action, number, url}}',
}


def output_help(command: str) -> str:
    return ("text for people; " + JSON_OUTPUT[command]) if command in JSON_OUTPUT else \
        "text for people, json for machines"


def epilog(command: str) -> str:
    lines = EXIT_CODES.get(command, ["0  ok", _ERROR])
    return "exit codes:\n" + "\n".join(f"  {line}" for line in lines + [_INTERRUPTED])


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on exit code 1, for every subcommand too (subparsers are
    made of the parent's class)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

"""The command line: parse options (compiler/options.py), run one command, turn failures into exit codes.

One handler for everything: a `FatalError` is printed as one line (with its hint) and
exits 1; Ctrl-C exits 130; anything unexpected is still reported without a traceback
unless TRITON_GITOPS_DEBUG is set, because users paste these lines into tickets.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from compiler.errors import FatalError, printable
from compiler.options import build_parser

__all__ = ["COMMANDS", "build_parser", "main"]


# The dispatch table: one entry per command, each importing its module only when that command
# runs: importing all seventeen up front costs about 0.25 s of CPU on every start (measured with
# `python -X importtime -c 'import compiler.commands.validate, ...'` against `import compiler.cli`).
def _validate(options: argparse.Namespace) -> int:
    from compiler.commands import validate
    return validate.run(options)


def _compile(options: argparse.Namespace) -> int:
    from compiler.commands import compile
    return compile.run(options)


def _plan(options: argparse.Namespace) -> int:
    from compiler.commands import plan
    return plan.run(options)


def _sync(options: argparse.Namespace) -> int:
    from compiler.commands import sync
    return sync.run(options)


def _lint(options: argparse.Namespace) -> int:
    from compiler.commands import lint
    return lint.run(options)


def _schema(options: argparse.Namespace) -> int:
    from compiler.commands import schema
    return schema.run(options)


def _explain(options: argparse.Namespace) -> int:
    from compiler.commands import explain
    return explain.run(options)


def _lock(options: argparse.Namespace) -> int:
    from compiler.commands import lock
    return lock.run(options)


def _cache(options: argparse.Namespace) -> int:
    from compiler.commands import cache
    return cache.run(options)


def _init(options: argparse.Namespace) -> int:
    from compiler.commands import init
    return init.run(options)


def _report(options: argparse.Namespace) -> int:
    from compiler.commands import report
    return report.run(options)


def _targets(options: argparse.Namespace) -> int:
    from compiler.commands import targets
    return targets.run(options)


def _completion(options: argparse.Namespace) -> int:
    from compiler.commands import completion
    return completion.run(options)


def _import(options: argparse.Namespace) -> int:
    from compiler.commands import import_  # `import` is a keyword
    return import_.run(options)


def _import_analyzer(options: argparse.Namespace) -> int:
    from compiler.commands import import_analyzer
    return import_analyzer.run(options)


def _rollout(options: argparse.Namespace) -> int:
    from compiler.commands import rollout
    return rollout.run(options)


def _status(options: argparse.Namespace) -> int:
    from compiler.commands import status
    return status.run(options)


def _drift(options: argparse.Namespace) -> int:
    from compiler.commands import drift
    return drift.run(options)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _validate,
    "compile": _compile,
    "plan": _plan,
    "sync": _sync,
    "lint": _lint,
    "schema": _schema,
    "explain": _explain,
    "lock": _lock,
    "cache": _cache,
    "init": _init,
    "report": _report,
    "targets": _targets,
    "completion": _completion,
    "import": _import,
    "import-analyzer": _import_analyzer,
    "rollout": _rollout,
    "status": _status,
    "drift": _drift,
}


def main(argv=None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if os.environ.get("TRITON_GITOPS_DEBUG"):
        from compiler.storage.redact import debug_logging

        debug_logging()  # the SDKs' logs on stderr, scrubbed of credentials
    # The run's settings are built by each command from these options (commands.run_settings).
    if getattr(options, "storage_timeout", None) is not None and options.storage_timeout <= 0:
        parser.error("--storage-timeout must be a positive number of seconds")
    try:
        return COMMANDS[options.command](options)
    except FatalError as exc:
        # Messages quote names from the manifest and the file system: printable() keeps their
        # control characters (CR, ESC, bidi) from reaching a terminal or a CI log raw.
        print(f"triton-gitops: error: {printable(exc.message)}", file=sys.stderr)
        if exc.hint:
            print(f"    hint: {printable(exc.hint)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("triton-gitops: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback for a user
        # An unexpected error's text may quote a request (a header, a signed URL) or a value the
        # run read from the environment: scrubbed like the debug logs, with or without the traceback.
        from compiler.storage.redact import environment_secrets, scrub

        if os.environ.get("TRITON_GITOPS_DEBUG"):  # the traceback, with no credential in it
            import traceback

            for line in scrub(traceback.format_exc(), environment_secrets()).splitlines():
                print(printable(line), file=sys.stderr)
            return 1
        text = scrub(f"{type(exc).__name__}: {exc}", environment_secrets())
        print(f"triton-gitops: internal error: {printable(text)}", file=sys.stderr)
        print("    hint: rerun with TRITON_GITOPS_DEBUG=1 for a traceback and report it", file=sys.stderr)
        return 1

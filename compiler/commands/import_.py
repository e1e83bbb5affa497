"""`triton-gitops import`: write a manifest for an existing model repository.

The module is `import_` because `import` is a keyword; cli.py maps the command to it.
"""
from __future__ import annotations

import sys
from pathlib import Path

from compiler.commands import EXIT_ERROR, EXIT_OK, show_notes
from compiler.console import plural, report_problems
from compiler.importer import import_repository


def run(options) -> int:
    to_stdout = options.out == "-"
    out = None if to_stdout else Path(options.out)
    copy_to = Path(options.copy_to) if options.copy_to else None
    server = {"backends": set(options.backends or ()), "repository_agents": set(options.repository_agents or ())}
    result = import_repository(options.source, out, copy_to=copy_to, force=options.force, server=server)
    show_notes(result.notes)
    # Problems go to stderr when the manifest itself goes to stdout, so `-o - > file` stays clean.
    report_problems(result.problems, "text", stream=sys.stderr if to_stdout else sys.stdout,
                    summary_label=options.source)
    if any(p.is_error for p in result.problems):
        print("triton-gitops: nothing written", file=sys.stderr)
        return EXIT_ERROR
    if to_stdout:
        sys.stdout.write(result.text)
        return EXIT_OK
    copied = f"; copied {plural(result.copied, 'file')} to {copy_to}" if copy_to is not None else ""
    print(f"wrote {out}: {plural(result.models, 'model')}{copied}")
    print(f"next: triton-gitops validate {out}")
    return EXIT_OK

"""`triton-gitops lint`: Triton's rules on existing config.pbtxt files or repositories."""
from __future__ import annotations

from compiler.commands import EXIT_ERROR, EXIT_OK
from compiler.errors import FatalError
from compiler.report import plural, report_problems


def run(options) -> int:
    from compiler import triton_releases
    from compiler.lint import lint_paths

    release = None
    if getattr(options, "triton", None):
        release, why = triton_releases.parse(options.triton)
        if release is None:
            raise FatalError(f"--triton: {why}")
    problems = lint_paths([str(p) for p in options.paths], triton=release)
    report_problems(problems, options.output, summary_label="lint")
    if any(p.is_error for p in problems):
        return EXIT_ERROR
    if options.output == "text":
        print(f"lint: OK ({plural(len(options.paths), 'path')})")
    return EXIT_OK

"""`triton-gitops report`: what this branch changes, as the Markdown a PR comment shows.

Compares the manifest in the work tree with the same file at `--base` (read through git,
fine in a shallow clone), adds the per-target plans the workflow saved with `--plans`,
and renders `templates/report/`. In GitHub Actions, `--summary` appends the report to the
job summary and `--github-output NAME` sets it as a step output (cut to fit a comment).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from compiler.commands import EXIT_CHANGES, EXIT_OK


def run(options) -> int:
    from compiler.prreport import build_report, read_plans, render_markdown
    from compiler.prreport.github import append_summary, set_outputs
    from compiler.prreport.render import COMMENT_LIMIT

    plans = read_plans(options.plans) if options.plans else []
    report = build_report(options.manifest, options.base, plans)
    if options.output == "json":
        text = json.dumps(report.as_dict(), indent=2) + "\n"
    else:
        text = render_markdown(report)
    if options.out:
        Path(options.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if options.summary:
        append_summary(text if options.output != "json" else render_markdown(report))
    if options.github_output:
        set_outputs({options.github_output: render_markdown(report, limit=COMMENT_LIMIT),
                     "pending": str(report.pending).lower()})
    return EXIT_CHANGES if (options.exit_code and report.pending) else EXIT_OK

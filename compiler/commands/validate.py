"""`triton-gitops validate`: every problem of the manifest in one run."""
from __future__ import annotations

from compiler.commands import EXIT_ERROR, EXIT_OK, run_settings
from compiler.console import plural, report_problems
from compiler.errors import printable
from compiler.fastpath import results_for
from compiler.pipeline import load_and_build


def run(options) -> int:
    settings = run_settings(options)
    loaded, tree = load_and_build(options.manifest, settings, results=results_for(options.manifest, settings))
    # One summary line: the error count when it fails, else OK with the warnings counted in it.
    report_problems(loaded.problems, options.output, summary_label="" if loaded.ok else str(options.manifest))
    if not loaded.ok:
        return EXIT_ERROR
    if options.output == "text":
        models = len(loaded.manifest.models)
        warnings = f", {plural(len(loaded.problems), 'warning')}" if loaded.problems else ""
        print(f"{printable(str(options.manifest))}: OK ({plural(models, 'model')}, "
              f"{plural(len(tree.entries), 'file')}{warnings})")
    return EXIT_OK

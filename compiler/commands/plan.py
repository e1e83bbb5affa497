"""`triton-gitops plan`: what a sync would do to a target, per file and per model; touches nothing."""
from __future__ import annotations

from compiler import fastpath
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, run_settings
from compiler.console import json_text, report_problems, use_colour
from compiler.fastpath import results_for


def run(options) -> int:
    # Before the stages are imported (_run), like sync: the target is read by a helper meanwhile
    # (compiler/fastpath/prefetch.py).
    return _run(options, fastpath.target_reader(options.target, (options.manifest,)))


def _run(options, early) -> int:
    from compiler.artifacts.plan_sources import source_records, sources_block  # noqa: PLC0415 - fastpath: after the fork (above)
    from compiler.pipeline import load  # noqa: PLC0415 - fastpath: after the fork (above)
    from compiler.sync import engine  # noqa: PLC0415 - fastpath: after the fork (above)
    from compiler.sync.summary import plan_json, plan_text  # noqa: PLC0415 - fastpath: after the fork (above)

    settings = run_settings(options)
    results = results_for(options.manifest, settings)
    with engine.cancelling(early):
        loaded = load(options.manifest, settings, results)
    ctx, loaded = engine.prepare(loaded, options.target, settings, jobs=8, early=early, results=results)
    if ctx is None:
        report_problems(loaded.problems, options.output, summary_label=str(options.manifest))
        return EXIT_ERROR
    if options.output == "text" and loaded.problems:
        report_problems(loaded.problems, "text")  # warnings only, at this point
    engine.copy_from(ctx, getattr(options, "from_target", None))
    result = engine.plan_only(ctx, prune=options.prune)
    if options.output == "json":
        report = plan_json(result.plan, ctx.target)
        report["sources"] = source_records(loaded.manifest)  # each version's source and digest
        print(json_text(report, indent=2))
    else:
        sources = sources_block(loaded.manifest)
        if sources:
            print(sources)
        print("\n".join(plan_text(result.plan, ctx.target, use_colour())))
    return EXIT_OK if result.plan.in_sync else EXIT_CHANGES

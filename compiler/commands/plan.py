"""`triton-gitops plan`: what a sync would do to a target, per file and per model; touches nothing."""
from __future__ import annotations

import sys

from compiler import fastpath
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, run_settings, show_notes
from compiler.console import json_text, report_problems, use_colour
from compiler.fastpath import results_for


def run(options) -> int:
    # Before the stages are imported (_run), like sync: the target is read by a helper meanwhile
    # (compiler/fastpath/prefetch.py).
    early = fastpath.target_reader(options.target, (options.manifest,))
    settings = run_settings(options)  # once: with a git:REF:PATH policy it runs `git show`
    kept = fastpath.plan_verdict_for(options, settings)
    replayed = kept.replay() if kept is not None else None
    if replayed is not None:
        if early is not None:
            early.cancel()
        out, code, notes = replayed
        show_notes(notes)  # kept with the plan: a replay shows the same
        sys.stdout.write(out)
        return code
    return _run(options, early, settings, kept)


class _Tee:
    """stdout as the plain run writes it, and a copy of it for a replay."""

    def __init__(self, stream):
        self.stream, self.parts = stream, []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.stream.write(text)

    def __getattr__(self, name):  # isatty, flush, encoding, ...: the real stream's
        return getattr(self.stream, name)


def _run(options, early, settings, kept=None) -> int:
    # After the fork (above), and never for a replayed plan (compiler/fastpath/verdict.py): ~0.3 s.
    from compiler.artifacts.plan_sources import source_records, sources_block  # noqa: PLC0415 - see above
    from compiler.pipeline import load  # noqa: PLC0415 - see above
    from compiler.sync import engine  # noqa: PLC0415 - see above
    from compiler.sync.summary import plan_json, plan_text  # noqa: PLC0415 - see above

    results = results_for(options.manifest, settings)
    with engine.cancelling(early):
        loaded = load(options.manifest, settings, results)
    show_notes(loaded.notes)
    ctx, loaded = engine.prepare(loaded, options.target, settings, jobs=8, early=early, results=results)
    if ctx is None:
        report_problems(loaded.problems, options.output, summary_label=str(options.manifest))
        return EXIT_ERROR
    colour = use_colour()
    out = sys.stdout = _Tee(sys.stdout)
    try:
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
            print("\n".join(plan_text(result.plan, ctx.target, colour)))
    finally:
        sys.stdout = out.stream
    code = EXIT_OK if result.plan.in_sync else EXIT_CHANGES
    if kept is not None and not getattr(options, "from_target", None):
        kept.keep(loaded, ctx.target, "".join(out.parts), code, loaded.notes)
    return code

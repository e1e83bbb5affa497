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
    early = fastpath.target_reader(options.target, (options.manifest,), writes=False)
    settings = run_settings(options)  # once: with a git:REF:PATH policy it runs `git show`
    kept = fastpath.plan_verdict_for(options, settings)
    replayed = kept.replay() if kept is not None else None
    if isinstance(replayed, tuple):  # a local target: the whole output
        if early is not None:
            early.cancel()
        out, code, notes = replayed
        show_notes(notes)  # kept with the plan: a replay shows the same
        sys.stdout.write(out)
        return code
    if replayed is not None:  # an object store: the local half, the target read as always
        return _against(options, early, replayed)
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
    records: list = []
    try:
        if options.output == "json":
            records = source_records(loaded.manifest)  # each version's source and digest
        else:
            if loaded.problems:
                report_problems(loaded.problems, "text")  # warnings only, at this point
            sources = sources_block(loaded.manifest)
            if sources:
                print(sources)
        head = "".join(out.parts)
        code = _plan(options, ctx, records, colour)
    finally:
        sys.stdout = out.stream
    if kept is not None and not getattr(options, "from_target", None):
        kept.keep(loaded, ctx, "".join(out.parts), code, head, records)
    return code


def _against(options, early, half) -> int:
    """The plan from a kept local half (compiler/fastpath/plan_half.py): the same output as `_run`,
    its head as kept, the target's state and listing read now."""
    show_notes(half.notes)  # kept with the half: a replay shows the same
    ctx = half.context(early)
    colour = use_colour()
    sys.stdout.write(half.head)
    return _plan(options, ctx, half.sources, colour)


def _plan(options, ctx, records: list, colour: bool) -> int:
    """Read the target, plan, print the plan (after what the caller printed); the exit code."""
    from compiler.sync import engine  # noqa: PLC0415 - see _run
    from compiler.sync.summary import plan_json, plan_text  # noqa: PLC0415 - see _run

    engine.copy_from(ctx, getattr(options, "from_target", None))
    result = engine.plan_only(ctx, prune=options.prune)
    if options.output == "json":
        report = plan_json(result.plan, ctx.target)
        report["sources"] = records
        print(json_text(report, indent=2))
    else:
        print("\n".join(plan_text(result.plan, ctx.target, colour)))
    return EXIT_OK if result.plan.in_sync else EXIT_CHANGES

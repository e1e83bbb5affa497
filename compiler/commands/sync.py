"""`triton-gitops sync`: make a target hold exactly the repository the manifest describes."""
from __future__ import annotations

import argparse
import sys
import time

from compiler import fastpath
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, run_settings, show_notes
from compiler.console import json_text, report_problems, use_colour
from compiler.errors import FatalError
from compiler.fastpath import results_for
from compiler.sync.progress import Progress


def run(options, settings=None) -> int:
    """`settings`: the run's, when already built (--revision builds them for today's manifest)."""
    if options.jobs < 1:
        raise FatalError(f"--jobs must be at least 1, not {options.jobs}")
    if getattr(options, "revision", None):
        return _run_at_revision(options)
    started = time.monotonic()
    # First thing, before the stages are imported (_run): the helper that reads the target
    # (compiler/fastpath/prefetch.py) forks from a small process.
    # A dry run and a promotion (written here: --from-target) hand the helper no plan to carry out.
    writes = not options.dry_run and not getattr(options, "from_target", None)
    return _run(options, started, fastpath.target_reader(options.target, (options.manifest,), writes), settings)


def _run(options, started, early, settings=None) -> int:
    from compiler.pipeline import load  # noqa: PLC0415 - fastpath: after the fork (run)
    from compiler.sync import engine  # noqa: PLC0415 - fastpath: after the fork (run)
    from compiler.sync.summary import plan_text, sync_json, sync_summary  # noqa: PLC0415 - fastpath: after the fork (run)

    settings = settings if settings is not None else run_settings(options)
    results = results_for(options.manifest, settings)
    with engine.cancelling(early):
        loaded = load(options.manifest, settings, results)
    show_notes(loaded.notes)
    ctx, loaded = engine.prepare(loaded, options.target, settings, options.jobs, early, results=results)
    if ctx is None:
        report_problems(loaded.problems, options.output, summary_label=str(options.manifest))
        return EXIT_ERROR
    text = options.output == "text"
    if text and loaded.problems:
        report_problems(loaded.problems, "text")  # warnings only, at this point
    progress = Progress(sys.stderr, enabled=True, lines=not text)  # text: the plan lists each file
    engine.copy_from(ctx, getattr(options, "from_target", None))

    def show(plan):
        if text and plan.changes:
            print("\n".join(plan_text(plan, ctx.target, use_colour())), flush=True)
            print(flush=True)

    result = engine.sync(ctx, prune=options.prune, dry_run=options.dry_run, jobs=options.jobs,
                         progress=progress, force_unlock=options.force_unlock, lock_wait=options.lock_wait,
                         on_plan=show, overwrite_unmanaged=options.overwrite_unmanaged)
    seconds = time.monotonic() - started
    if options.output == "json":
        print(json_text(sync_json(result, ctx.target, seconds, options.dry_run), indent=2))
    elif options.dry_run:
        print("dry run: nothing was changed")
    else:
        print(sync_summary(result, ctx.target, seconds, options.prune))
    # Like `plan`: a dry run says by its exit code whether this sync would change the target.
    return EXIT_CHANGES if options.dry_run and result.plan.active else EXIT_OK


def _run_at_revision(options) -> int:
    """Sync the repository as the manifest described it at git revision `options.revision`:
    the manifest's folder at that commit, sources included, is written to a temporary folder
    and synced from there, to the target of today's manifest (a local target named with a
    relative path stays where it is today, not inside the temporary folder). The GitOps way
    to put a POLL-mode fleet back on a known-good state without a revert commit first."""
    from pathlib import Path  # noqa: PLC0415 - pathlib ~10 ms: not loaded before target_reader may fork

    from compiler.gitinfo import checkout_tree  # noqa: PLC0415 - gitinfo ~15 ms: --revision only

    settings = run_settings(options)  # once: with a git:REF:PATH policy it runs `git show`
    target = _today_target(options, settings)
    with checkout_tree(options.revision, options.manifest) as old:
        if old is None or not Path(old).is_file():
            raise FatalError(f"{options.manifest}: not in git at {options.revision}",
                             "name a revision where the manifest exists: git log -- " + str(options.manifest))
        print(f"sync: the manifest as of {options.revision}", file=sys.stderr)
        return run(argparse.Namespace(**{**vars(options), "manifest": str(old), "target": target,
                                         "revision": None}), settings)


def _today_target(options, settings):
    """The target as today's manifest resolves it; a local one as an absolute path. Only the
    manifest is read (its targets), never its sources: what is synced comes from the revision."""
    from compiler.pipeline import load  # noqa: PLC0415 - --revision only, and after the fork: the pipeline ~170 ms
    from compiler.sync.target import resolve_target  # noqa: PLC0415 - --revision only, and after the fork: sync.target ~80 ms

    loaded = load(options.manifest, settings)
    if loaded.manifest is None:
        return options.target  # today's manifest does not load: the revision's own targets apply
    target = resolve_target(loaded.manifest, options.target, settings.policy)
    return target.root if target.local else options.target

"""`triton-gitops drift`: does every target (its storage and its Triton servers) still hold what
the manifest says; keep one GitHub issue open while one does not. The core is compiler/drift/."""
from __future__ import annotations

import datetime
from pathlib import Path

from compiler.artifacts.cache import Cache
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, load_or_report, run_settings
from compiler.commands.targets import kind_of
from compiler.console import json_text
from compiler.drift import check, issue, report
from compiler.drift.github import Api
from compiler.errors import FatalError, printable
from compiler.prreport.github import append_summary
from compiler.sync.engine import git_revision


def _names(options, manifest) -> list:
    names = list(options.target or []) or sorted(manifest.targets)
    unknown = [n for n in names if n not in manifest.targets]
    if unknown:
        raise FatalError(f"--target {unknown[0]}: the manifest has no such target",
                         f"targets: {', '.join(sorted(manifest.targets)) or 'none'}")
    if options.remote:
        names = [n for n in names if kind_of(manifest.targets[n].url) != "local"]
    if not names:
        raise FatalError("no target to check" + (" (--remote leaves out local folders)" if options.remote else ""),
                         "add a target under `targets:` in the manifest")
    return names


def run(options) -> int:
    settings = run_settings(options)
    cache = Cache(settings.cache_root)  # the hash index: read once, by the build and every target's plan
    built = load_or_report(options.manifest, options.output, settings, cache=cache)
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    manifest = loaded.manifest
    checks = check.check_all(loaded, tree, settings, _names(options, manifest), timeout=options.timeout,
                             nameserver=options.nameserver, cache=cache)

    revision = git_revision(Path(options.manifest).resolve().parent) or ""
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    name = Path(options.manifest).name
    body = report.render(checks, name, revision, when)
    drifted = any(c.drifted for c in checks)
    unknown = any(c.errors for c in checks)
    outcome = issue.Outcome(issue.NONE)
    if not options.no_issue:
        outcome = issue.keep(Api.from_environment(), drifted or unknown, report.title(checks), body,
                             report.closing_comment(checks, revision, when), options.issue_author)
    if options.summary:
        append_summary(body)
    if options.output == "json":
        print(json_text({"in_sync": not drifted and not unknown, "drifted": drifted, "unchecked": unknown,
                         "revision": revision, "targets": [c.as_dict() for c in checks],
                         "issue": outcome.as_dict()}, indent=2))
    else:
        print(body)
        if outcome.action != issue.NONE:
            print(f"drift: issue #{outcome.number} {outcome.action}" + (f": {printable(outcome.url)}" if outcome.url else ""))
    if unknown:
        return EXIT_ERROR
    return EXIT_CHANGES if drifted else EXIT_OK

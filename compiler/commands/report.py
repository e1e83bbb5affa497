"""`triton-gitops report`: what this branch changes, as the Markdown a PR comment shows.

Compares the manifest in the work tree with the same file at `--base` (read through git,
fine in a shallow clone), adds the per-target plans the workflow saved with `--plans`,
and renders `templates/report/`. In GitHub Actions, `--summary` appends the report to the
job summary and `--github-output NAME` sets it as a step output (cut to fit a comment).

Exit codes: 1 when the manifest has errors or any target's plan failed (the report is still
written, so the PR shows why), else 2 with `--exit-code` when something changes, else 0.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from compiler import gitinfo
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, run_settings, show_notes
from compiler.console import json_text
from compiler.errors import FatalError, printable
from compiler.pipeline import load_and_build
from compiler.prreport import build_report, read_plans, render_markdown
from compiler.prreport.github import append_summary, set_outputs
from compiler.prreport.render import COMMENT_LIMIT
from compiler.prreport.report_data import GitFacts

DEFAULT_BASE = "main"


def run(options) -> int:
    base = options.base or DEFAULT_BASE
    if options.base is None:
        _check_default_base(options.manifest)
    plans = read_plans(options.plans) if options.plans else []
    report = load_and_compare(options.manifest, base, run_settings(options), plans)
    if options.output == "json":
        text = json_text(report.as_dict(), indent=2) + "\n"
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
    failed = report.failed_plans
    for plan in failed:
        print(f"triton-gitops: error: the plan of target {printable(plan.name)} failed "
              f"({'exit code ' + str(plan.code) if plan.code is not None else 'no result'}); see the report",
              file=sys.stderr)
    if failed or not report.head_ok:
        return EXIT_ERROR
    return EXIT_CHANGES if (options.exit_code and report.pending) else EXIT_OK


def load_and_compare(manifest, base_ref: str, settings, plans: list | None = None):
    """The Report of `manifest` in the work tree against the same path at `base_ref`: both sides
    loaded here with this run's `settings` (digests are enough: remote sources are not fetched),
    the base from a checkout of the manifest's folder at `base_ref`, then compared. The notes of
    both sides are shown (each kind once)."""
    manifest = Path(manifest)
    settings = replace(settings, fetch=False)
    revision = gitinfo.revision(manifest)
    repo = gitinfo.open_repo(manifest)
    head = load_and_build(manifest, settings)
    if repo is None:
        show_notes(head[0].notes)
        facts = GitFacts(revision, base_note="not a git repository: every model is shown as added")
        return build_report(manifest, base_ref, head, None, facts, plans)
    base_sha = gitinfo.resolve(repo, base_ref).hexsha
    with gitinfo.checkout_tree(base_ref, manifest) as base_manifest:
        base, note = None, f"no {manifest.name} at the base: every model is new"
        if base_manifest is not None and base_manifest.is_file():
            base, note = load_and_build(base_manifest, settings), ""
        show_notes(head[0].notes, base[0].notes if base is not None else ())
        facts = GitFacts(revision, base_sha, tuple(gitinfo.changed_since(base_ref, manifest)), note)
        # Compared before the checkout goes: the base tree's files are read for their digests.
        return build_report(manifest, base_ref, head, base, facts, plans)


def _check_default_base(manifest) -> None:
    """Without --base the base is `main`; when there is none, say which branch to name instead."""
    repo = gitinfo.open_repo(manifest)
    if repo is None:
        return
    try:
        gitinfo.resolve(repo, DEFAULT_BASE)
    except FatalError as exc:
        branch = gitinfo.default_branch(repo)
        if branch and branch != DEFAULT_BASE:
            hint = f"the default branch here is {printable(branch)!r}: pass --base {printable(branch)} " \
                   f"(or --base origin/{printable(branch)})"
        else:
            hint = "name the branch the PR goes into: --base BRANCH (e.g. --base origin/master); in a PR " \
                   "workflow, --base HEAD^1 is the base of the merge commit"
        raise FatalError(f"{exc.message} (the default base)", hint) from None

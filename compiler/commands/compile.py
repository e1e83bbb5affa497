"""`triton-gitops compile`: write the model repository, or show what would change.

When the build record in the output says nothing the compile reads or writes has changed
since it was written, the answer is given from the record (compiler.compile.build_record), and
the heavier modules are not even imported.
"""
from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, load_or_report, run_settings, show_notes
from compiler.compile import build_record
from compiler.compile.output import CREATE, DELETE, UPDATE, DiffResult, check_replaceable, diff_tree, write_tree
from compiler.console import human_size, json_text, paint, plural, report_problems, use_colour
from compiler.errors import FatalError, printable
from compiler.fastpath import results_for
from compiler.manifest.local_target import fingerprints, folder_problem, policy_for, resolve
from compiler.notes import as_data, from_data
from compiler.storage.env import expand, target_variables, variables_digest

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.settings import Settings
    from compiler.storage.policy import Policy

_SIGN = {CREATE: "+", UPDATE: "~", DELETE: "-"}


def _model_of(path: str) -> str:
    return path.split("/", 1)[0]


def _print_plan(diff, out: Path, colour: bool) -> None:
    for change in diff.changes:
        size = human_size(change.size)
        if change.action == UPDATE:
            size = f"{human_size(change.old_size)} -> {size}"
        print(paint(f"{_SIGN[change.action]} {change.action:<6} {printable(change.path)} ({size})", change.action,
                    colour))
    per_model: dict = {}
    for change in diff.changes:
        per_model.setdefault(_model_of(change.path), Counter())[change.action] += 1
    if per_model:
        print()
    for model, counts in sorted(per_model.items()):
        print(f"{printable(model)}: {counts[CREATE]} to create, {counts[UPDATE]} to update, {counts[DELETE]} to delete")
    totals = Counter(c.action for c in diff.changes)
    if diff.pending:
        print(f"\n{printable(str(out))}: {plural(totals[CREATE], 'file')} to create, {totals[UPDATE]} to update, "
              f"{totals[DELETE]} to delete")
    else:
        print(f"{printable(str(out))}: up to date")


def _plan_json(diff, out: Path, sources: list) -> dict:
    return {"out": str(out), "pending": diff.pending, "sources": sources,
            "changes": [{"action": c.action, "path": c.path, "model": _model_of(c.path), "size": c.size,
                         "old_size": c.old_size} for c in diff.changes]}


def _refuse_output_inside_a_source(manifest, out: Path) -> None:
    """An --out inside a version's source folder would be copied into itself on every run."""
    target = out.resolve()
    for model in manifest.models.values():
        for version in model.versions.values():
            folder = version.local_path
            if folder is not None and folder.is_dir():
                root = folder.resolve()
                if target == root or root in target.parents:
                    raise FatalError(f"--out {out} is inside the source of {model.name} version {version.number} "
                                     f"({version.source})", "write the repository outside the model sources")


def _summary(out: Path, summary: dict, options, up_to_date: bool) -> None:
    if options.output == "json":
        print(json_text({"out": str(out), "files": summary["files"], "bytes": summary["bytes"],
                          "up_to_date": up_to_date}))
    elif up_to_date:
        print(f"{printable(str(out))}: up to date ({plural(summary['models'], 'model')}, {plural(summary['files'], 'file')}, "
              f"{human_size(summary['bytes'])}); nothing written")
    else:
        print(f"wrote {printable(str(out))}: {plural(summary['models'], 'model')}, {plural(summary['files'], 'file')}, "
              f"{human_size(summary['bytes'])}")


def _print_dry_run(diff, out: Path, options, sources: list, sources_text: str) -> None:
    if options.output == "json":
        print(json_text(_plan_json(diff, out, sources), indent=2))
        return
    if sources_text:
        print(sources_text)
    _print_plan(diff, out, use_colour())


def _answer_from_record(report: dict, out: Path, options) -> int:
    """The same output as the full run, with nothing to change."""
    show_notes(from_data(report.get("notes", ())))
    if options.dry_run:
        sources = json.loads(report["sources_json"]) if options.output == "json" else []
        _print_dry_run(DiffResult(), out, options, sources, report["sources_text"])
    else:
        _summary(out, report["summary"], options, up_to_date=True)
    return EXIT_OK


def _keep_record(loaded, summary: dict, out: Path, settings: Settings, key, started, written) -> None:
    """Record this run for the next one, where a stat can vouch for every input: local
    sources only, and no warnings (which the next run would otherwise have to repeat); with
    what its remote targets were checked against, if it has any (the storage policy), and
    where its local targets resolve (manifest/local_target.py: the manifest builds only while
    they stay in its repository)."""
    from compiler.artifacts.lockfile import lock_path  # noqa: PLC0415 - ~50 ms: the up-to-date answer (build record) never loads it
    from compiler.artifacts.plan_sources import source_records, sources_block  # noqa: PLC0415 - ~50 ms: the up-to-date answer (build record) never loads it

    manifest = loaded.manifest
    if key is None or started is None or loaded.problems:
        return
    if manifest.has_remote_sources:
        return
    report = {"summary": summary, "sources": source_records(manifest), "sources_text": sources_block(manifest),
              "notes": as_data(loaded.notes)}  # shown again by the up-to-date answer
    names = target_variables(manifest.targets.values())
    storage = None if names is None else (names, variables_digest(settings.policy, names))
    try:
        build_record.save(out, settings.cache_root, key, started, build_record.input_paths(manifest, lock_path(manifest.path)),
                          written, report, storage, fingerprints(manifest.targets.values(), manifest.path, settings.policy))
    except OSError:
        pass  # only a shortcut lost: the next run does the full compile


def _local_target(manifest_path: Path, targets: dict, policy: Callable[[], Policy]) -> Path | None:
    """The folder of the manifest's local target (as `sync` picks it), relative to the manifest;
    None when the manifest may not name it (a variable the policy does not allow, not set or
    changing its scheme, a folder outside its repository: compiler/manifest/local_target.py),
    which the full run then reports at its line. `policy()`: the run's storage policy, asked for
    only when a URL names a variable (it decides which ones are expanded)."""
    from compiler.sync.target import default_local  # noqa: PLC0415 - sync.target ~35 ms: only without --out

    run_policy = policy_for([spec["url"] for spec in targets.values()], policy)
    urls = {name: expand(spec["url"], (), [], run_policy) for name, spec in targets.items()}  # unset or refused: ""
    name = default_local(urls, manifest_path.name, "--out DIR")
    written = targets[name]["url"]
    out, used, _ = resolve(written, manifest_path, run_policy, ("targets", name))
    if out is None or folder_problem(written, out, manifest_path.resolve(), (), used) is not None:
        return None
    return out


def default_out(manifest_path: Path, policy: Callable[[], Policy]) -> Path | None:
    """compile's --out when none is given: the manifest's local target, the folder `sync`
    writes, so that both commands keep one repository. Read here with a plain YAML load (the
    up-to-date answer must stay fast); None when that fails: the full run then says why.
    `policy()`: the run's storage policy, asked for only when a target's URL names a variable."""
    try:
        data = yaml.load(manifest_path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        targets = data.get("targets") or {}
        if not all(isinstance(spec, dict) and isinstance(spec.get("url"), str) for spec in targets.values()):
            return None
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return None
    return _local_target(manifest_path, targets, policy)


def run(options) -> int:
    manifest_path = Path(options.manifest)
    # The up-to-date check reads the lock mode and the cache folder, not the storage policy,
    # which TRITON_GITOPS_POLICY=git:REF:PATH reads with `git show` (docs/benchmarks.md, Compile):
    # that is loaded once, when a record's answer depends on it (storage.env.target_variables) or
    # for the full run. (An unreadable policy file is then reported by the first run that needs it.)
    early = run_settings(options, with_policy=False)
    full_settings = functools.cache(early.with_run_policy)
    out, no_target = (Path(options.out) if options.out else None), None
    if out is None:
        try:
            out = default_out(manifest_path, lambda: full_settings().policy)
        except FatalError as exc:  # no (single) local target: said after the manifest's own problems
            no_target = exc
    if out is None:  # the manifest did not load, or names no folder: the full run reports its problems first
        settings = full_settings()
        if load_or_report(options.manifest, options.output, settings, results_for(options.manifest, settings)) is None:
            return EXIT_ERROR
        raise no_target or FatalError(f"cannot tell the local target of {options.manifest}", "pass --out DIR")
    # The file system's clock before anything is read: inputs changed after it are not trusted
    # to the record (see compiler.compile.build_record).
    started = None if options.dry_run else build_record.clock_now(out)
    key = build_record.current_key(out, manifest_path, str(options.manifest), early.lock)
    report = build_record.up_to_date(out, key, early.cache_root, lambda: full_settings().policy)
    if report is not None:
        return _answer_from_record(report, out, options)
    settings = full_settings()

    from compiler.artifacts.plan_sources import source_records, sources_block  # noqa: PLC0415 - ~50 ms: the up-to-date answer above never loads it

    built = load_or_report(options.manifest, options.output, settings, results_for(options.manifest, settings))
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    _refuse_output_inside_a_source(loaded.manifest, out)
    if options.output == "text" and loaded.problems:
        report_problems(loaded.problems, "text")  # warnings only, at this point
    if options.dry_run:
        diff = diff_tree(tree, out)
        _print_dry_run(diff, out, options, source_records(loaded.manifest), sources_block(loaded.manifest))
        return EXIT_CHANGES if (options.exit_code and diff.pending) else EXIT_OK
    check_replaceable(out)
    build_record.forget(out, settings.cache_root)
    manifest = loaded.manifest
    ensembles = [name for name, model in manifest.models.items() if model.config.platform == "ensemble"]
    written = write_tree(tree, out, Path(options.manifest).name, ensembles)
    summary = {"models": len(loaded.manifest.models), "files": len(tree.entries), "bytes": tree.total_bytes}
    _keep_record(loaded, summary, out, settings, key, started, written)
    _summary(out, summary, options, up_to_date=False)
    return EXIT_OK

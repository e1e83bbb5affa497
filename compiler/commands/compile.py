"""`triton-gitops compile`: write the model repository, or show what would change."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from compiler.errors import FatalError
from compiler.compile.output import CREATE, DELETE, UPDATE, check_replaceable, diff_tree, write_tree
from compiler.artifacts.plan import source_records, sources_block
from compiler.pipeline import load_valid
from compiler.report import human_size, paint, plural, report_problems, use_colour

_SIGN = {CREATE: "+", UPDATE: "~", DELETE: "-"}


def _model_of(path: str) -> str:
    return path.split("/", 1)[0]


def _print_plan(diff, out: Path, colour: bool) -> None:
    for change in diff.changes:
        size = human_size(change.size)
        if change.action == UPDATE:
            size = f"{human_size(change.old_size)} -> {size}"
        print(paint(f"{_SIGN[change.action]} {change.action:<6} {change.path} ({size})", change.action, colour))
    per_model: dict = {}
    for change in diff.changes:
        per_model.setdefault(_model_of(change.path), Counter())[change.action] += 1
    if per_model:
        print()
    for model, counts in sorted(per_model.items()):
        print(f"{model}: {counts[CREATE]} to create, {counts[UPDATE]} to update, {counts[DELETE]} to delete")
    totals = Counter(c.action for c in diff.changes)
    if diff.pending:
        print(f"\n{out}: {plural(totals[CREATE], 'file')} to create, {totals[UPDATE]} to update, "
              f"{totals[DELETE]} to delete")
    else:
        print(f"{out}: up to date")


def _plan_json(diff, out: Path, manifest) -> dict:
    return {"out": str(out), "pending": diff.pending, "sources": source_records(manifest),
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


def run(options) -> int:
    built = load_valid(options)
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    out = Path(options.out)
    _refuse_output_inside_a_source(loaded.manifest, out)
    if options.output == "text" and loaded.problems:
        report_problems(loaded.problems, "text")  # warnings only, at this point
    if options.dry_run:
        diff = diff_tree(tree, out)
        if options.output == "json":
            print(json.dumps(_plan_json(diff, out, loaded.manifest), indent=2))
        else:
            sources = sources_block(loaded.manifest)
            if sources:
                print(sources)
            _print_plan(diff, out, use_colour())
        return EXIT_CHANGES if (options.exit_code and diff.pending) else EXIT_OK
    check_replaceable(out)
    write_tree(tree, out)
    if options.output == "json":
        print(json.dumps({"out": str(out), "files": len(tree.entries), "bytes": tree.total_bytes}))
    else:
        models = len(loaded.manifest.models)
        print(f"wrote {out}: {plural(models, 'model')}, {plural(len(tree.entries), 'file')}, "
              f"{human_size(tree.total_bytes)}")
    return EXIT_OK

"""The stages chained the way most commands need them: load, validate, build the tree."""
from __future__ import annotations

from pathlib import Path

from compiler.manifest import load_manifest


def load_and_build(manifest_path, after_load=None):
    """(LoadedManifest, Tree or None). Tree problems are located and added to the result.

    `after_load(loaded)` runs between the two stages: sync learns its target there, so that
    reading the target overlaps the hashing of the sources."""
    from compiler.compile.tree import build_tree

    path = Path(manifest_path)
    loaded = load_manifest(path, str(manifest_path))
    if loaded.manifest is None:
        return loaded, None
    if after_load is not None:
        after_load(loaded)
    # Built even when Triton's rules failed, so that problems only the tree finds (warmup
    # data that does not fit, unreadable sources) are reported in the same run.
    tree, problems = build_tree(loaded.manifest, path.name)
    for problem in problems:
        loaded.document.place(problem)
    loaded.problems.extend(problems)
    return loaded, tree if loaded.ok else None


def load_valid(options):
    """(LoadedManifest, Tree) for commands that need a valid manifest; None after the
    manifest's problems were reported in `options.output`'s format."""
    from compiler.console import report_problems

    loaded, tree = load_and_build(options.manifest)
    if tree is None:
        report_problems(loaded.problems, options.output, summary_label=str(options.manifest))
        return None
    return loaded, tree

"""One module per command; each exposes `run(options) -> exit code`."""
from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def load_or_report(manifest, output: str, results=None):
    """(LoadedManifest, Tree) of a manifest that builds; None after its problems were printed in
    `output`'s format (text or json). `results`: the cache of earlier runs' answers to use
    (compiler.fastpath.results_for), or None for none."""
    # Imported here: `schema`, `explain` and `completion` import this package for the exit codes
    # alone, and the pipeline (the manifest and compile stages) costs them ~90 ms (-X importtime).
    from compiler.console import report_problems
    from compiler.pipeline import load_and_build

    loaded, tree = load_and_build(manifest) if results is None else load_and_build(manifest, results=results)
    if tree is None:
        report_problems(loaded.problems, output, summary_label=str(manifest))
        return None
    return loaded, tree

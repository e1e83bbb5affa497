"""One module per command; each exposes `run(options) -> exit code`."""
from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Optional

from compiler.console import report_problems
from compiler.errors import printable

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.cache import Cache
    from compiler.artifacts.settings import Settings
    from compiler.notes import Note

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


def run_settings(options, with_policy: bool = True) -> Settings:
    """This run's settings, built once from the options and the environment, then handed down
    (`with_policy`: Settings.for_run's)."""
    from compiler.artifacts.settings import Settings  # noqa: PLC0415 - artifacts ~120 ms: schema, explain and completion import this package for the exit codes alone

    return Settings.for_run(locked=bool(getattr(options, "locked", False)),
                            storage_timeout=getattr(options, "storage_timeout", None), with_policy=with_policy)


def show_notes(*notes: Iterable[Note], already: Iterable[Note] = ()) -> None:
    """The notes the stages collected (compiler/notes.py), on stderr: the first of each key, so
    that a run says each kind of note once; stdout (JSON output) stays as it is. A command calls
    it once, with the notes of every manifest (or lint or import result) it loaded; `already`:
    notes it showed before, whose keys are not shown again."""
    shown = {note.key for note in already}
    for note in (note for group in notes for note in group):
        if note.key not in shown:
            shown.add(note.key)
            print(f"note: {printable(note.text)}", file=sys.stderr)


def load_or_report(manifest, output: str, settings: Settings, results=None, cache: Optional[Cache] = None):
    """(LoadedManifest, Tree) of a manifest that builds; None after its problems were printed in
    `output`'s format (text or json). Its notes are shown either way. `results`: the cache of
    earlier runs' answers to use (compiler.fastpath.results_for), or None for none; `cache`: the
    run's hash index, when the command reads it again after the build (rollout --target, drift),
    else opened by the build."""
    # Imported here: `schema`, `explain` and `completion` import this package for the exit codes
    # alone, and the pipeline (the manifest and compile stages) costs them ~190 ms
    # of CPU (bench/import_cost.py).
    from compiler.answers import PLAIN  # noqa: PLC0415 - see above
    from compiler.pipeline import load_and_build  # noqa: PLC0415 - see above

    loaded, tree = load_and_build(manifest, settings, results=PLAIN if results is None else results, cache=cache)
    show_notes(loaded.notes)
    if tree is None:
        report_problems(loaded.problems, output, summary_label=str(manifest))
        return None
    return loaded, tree

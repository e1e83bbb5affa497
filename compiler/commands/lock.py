"""`triton-gitops lock`: write models.lock, the sha256 of every version source, next to the manifest."""
from __future__ import annotations

from pathlib import Path

from compiler.artifacts import settings
from compiler.artifacts.lockfile import LockEntry, key_of, lock_path, render_lock, write_lock
from compiler.artifacts.plan_sources import source_lines, source_records
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from compiler.console import json_text, plural, report_problems
from compiler.errors import printable
from compiler.pipeline import load_valid


def lock_entries(manifest) -> dict:
    entries = {}
    for model in manifest.models.values():
        for version in model.versions.values():
            artifact = version.artifact
            if artifact is None:
                continue  # an ensemble's empty version folder: nothing to lock
            files = {f.rel: f.sha256 for f in artifact.files} if artifact.kind == "folder" else {}
            entries[key_of(model.name, version.number)] = LockEntry(version.source, artifact.kind, artifact.digest,
                                                                    artifact.size, files)
    return entries


def run(options) -> int:
    # The old lock is what is being replaced, so it is not checked; digests are needed, bytes
    # are not (a remote file seen before is not downloaded again just to be locked).
    with settings.using(lock=settings.LOCK_IGNORE, fetch=False):
        built = load_valid(options)
    if built is None:
        return EXIT_ERROR
    loaded, _tree = built
    manifest = loaded.manifest
    path = lock_path(options.manifest)
    entries = lock_entries(manifest)
    text = render_lock(Path(options.manifest).name, entries)
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    changed = current != text
    if not options.check and changed:
        write_lock(path, text)
    if options.output == "json":
        print(json_text({"lock": str(path), "changed": changed, "written": changed and not options.check,
                          "versions": source_records(manifest)}, indent=2))
    else:
        if loaded.problems:
            report_problems(loaded.problems, "text")  # warnings only, at this point
        for line in source_lines(manifest, full_digests=True):
            print(f"  {line}")
        count = plural(len(entries), "source")
        if not changed:
            print(f"{printable(str(path))}: up to date ({count})")
        elif options.check:
            print(f"{printable(str(path))}: would change ({count}); run `triton-gitops lock`")
        else:
            print(f"wrote {printable(str(path))} ({count})")
    return EXIT_CHANGES if (options.check and changed) else EXIT_OK

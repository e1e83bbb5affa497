"""`triton-gitops lock`: write models.lock, the sha256 of every version source, next to the manifest."""
from __future__ import annotations

from compiler.artifacts.plan_sources import source_lines, source_records
from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, run_settings, show_notes
from compiler.console import json_text, plural, report_problems
from compiler.errors import printable
from compiler.pipeline import lock_manifest


def run(options) -> int:
    loaded, update = lock_manifest(options.manifest, run_settings(options), check=options.check)
    show_notes(loaded.notes)
    if update is None:
        report_problems(loaded.problems, options.output, summary_label=str(options.manifest))
        return EXIT_ERROR
    manifest, path = loaded.manifest, update.path
    if options.output == "json":
        print(json_text({"lock": str(path), "changed": update.changed, "written": update.written,
                          "versions": source_records(manifest)}, indent=2))
    else:
        if loaded.problems:
            report_problems(loaded.problems, "text")  # warnings only, at this point
        for line in source_lines(manifest, full_digests=True):
            print(f"  {line}")
        count = plural(update.sources, "source")
        if not update.changed:
            print(f"{printable(str(path))}: up to date ({count})")
        elif options.check:
            print(f"{printable(str(path))}: would change ({count}); run `triton-gitops lock`")
        else:
            print(f"wrote {printable(str(path))} ({count})")
    return EXIT_CHANGES if (options.check and update.changed) else EXIT_OK

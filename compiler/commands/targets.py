"""`triton-gitops targets`: the manifest's sync targets, for people and for CI matrices.

Each target has a kind from its URL: `s3`, `gcs` (gs://, gcs://), `azure` (az://, abfs://,
abfss://, adl://), `local` (a path or file://) or `other`. Problems in the models do not
stop the listing (that is `validate`'s job); a manifest that cannot be read at all does. With `--github-output` the step
outputs are `matrix` (`{"include": [{"target": NAME, "kind": KIND}, ...]}`, plus `"servers": "yes"`
for a target that lists its Triton servers), `names`
and `kinds` (space-separated) and `count`.
"""
from __future__ import annotations

import json

from compiler.commands import EXIT_ERROR, EXIT_OK, run_settings, show_notes
from compiler.console import json_text, report_problems
from compiler.errors import printable
from compiler.manifest import load_manifest
from compiler.storage.urls import redact_url

_KINDS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure",
          "abfss": "azure", "adl": "azure", "file": "local", "local": "local"}


def kind_of(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "local"
    return _KINDS.get(scheme.lower(), "other")


def run(options) -> int:
    loaded = load_manifest(options.manifest, str(options.manifest), policy=run_settings(options).policy)
    show_notes(loaded.notes)
    # Only `targets:` matters here: a model's problem (a missing source, ...) is for `validate`.
    if loaded.manifest is None:
        report_problems(loaded.problems, options.output if options.output == "json" else "text",
                        summary_label=str(options.manifest))
        return EXIT_ERROR

    targets = [{"name": t.name, "kind": kind_of(t.url), "url": redact_url(t.url), "servers": len(t.servers)}
               for t in loaded.manifest.targets.values()]
    if options.remote:
        targets = [t for t in targets if t["kind"] != "local"]
    if options.github_output:
        from compiler.prreport.github import set_outputs  # noqa: PLC0415 - prreport ~170 ms: --github-output only

        # "servers": "yes" only for a target listing Triton servers (the sync workflow then
        # rolls out to them or waits for them); the others' entries stay {target, kind}.
        include = [{"target": t["name"], "kind": t["kind"], **({"servers": "yes"} if t["servers"] else {})}
                   for t in targets]
        set_outputs({"matrix": json.dumps({"include": include}),
                     "names": " ".join(t["name"] for t in targets),
                     "kinds": " ".join(sorted({t["kind"] for t in targets})),
                     "count": str(len(targets))})
    if options.output == "json":
        print(json_text({"targets": targets}, indent=2))
    elif targets:
        width = max(len(t["name"]) for t in targets)
        for t in targets:
            print(f"{t['name']:<{width}}  {t['kind']:<6} {printable(t['url'])}")
    else:
        print("no targets" + (" (remote)" if options.remote else ""))
    return EXIT_OK

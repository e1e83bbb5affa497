"""What a reviewer reads in a plan: each version's source, its digest and where the bytes come from.

    sources:
      bert/2       s3://models/bert/2/  folder, 3 files, 1.2 GB  sha256:9f2c…e1 (pinned, locked)  cache
      tiny/1       tiny/model.onnx      file, 56 B               sha256:1a2b…ff (locked)           local

`source_records` is the same as JSON for `--output json`; commands print `source_lines`.
"""
from __future__ import annotations

from compiler.console import human_size, plural
from compiler.errors import printable
from compiler.storage.urls import redact_url


def _where(artifact) -> str:
    if not artifact.remote:
        return "local"
    if artifact.files and all(f.local is None for f in artifact.files):
        return "remote (not downloaded)"
    if artifact.downloaded:
        return f"downloaded {artifact.downloaded} of {plural(len(artifact.files), 'file')}"
    return "cache"


def source_records(manifest) -> list:
    records = []
    for model in manifest.models.values():
        for version in model.versions.values():
            artifact = getattr(version, "artifact", None)
            if artifact is None:
                continue
            records.append({
                "model": model.name, "version": version.number, "source": redact_url(version.source),
                "kind": artifact.kind, "files": len(artifact.files), "size": artifact.size,
                "sha256": artifact.digest, "pinned": artifact.pinned, "lock": artifact.lock_state or None,
                "from": _where(artifact),
            })
    return records


def source_lines(manifest, full_digests: bool = False) -> list:
    """Aligned text lines (without a heading); [] when the manifest has no sources."""
    rows = []
    for record in source_records(manifest):
        digest = record["sha256"]
        shown = (digest if full_digests else f"{digest[:12]}…") if digest else "(not computed)"
        notes = [n for n in ("pinned" if record["pinned"] else "",
                             {"ok": "locked", "drift": "differs from models.lock",
                              "missing": "not in models.lock"}.get(record["lock"] or "", "")) if n]
        kind = record["kind"] if record["kind"] == "file" else f"folder, {plural(record['files'], 'file')}"
        rows.append((printable(f"{record['model']}/{record['version']}"), printable(str(record["source"])),
                     f"{kind}, {human_size(record['size'])}",
                     f"sha256:{shown}" + (f" ({', '.join(notes)})" if notes else ""), printable(str(record["from"]))))
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip()
            for row in rows]


def sources_block(manifest) -> str:
    """The "sources:" block that heads compile's dry run and sync's plan, or "" when the
    manifest has no version sources: what a reviewer needs to see which bytes ship."""
    lines = source_lines(manifest)
    return "sources:\n" + "\n".join("  " + line for line in lines) + "\n" if lines else ""

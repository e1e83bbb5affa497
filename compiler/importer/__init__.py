"""`triton-gitops import`: take over an existing Triton model repository.

Stages, one module each: `scan` lists the repository (local or any fsspec URL),
`entry` turns each config.pbtxt into a model entry, `to_manifest` assembles the manifest and
decides where sources point, `emit` writes readable YAML. Nothing is written unless
every config parses; the manifest is checked to load back with our own YAML loader
before it is written, so what import writes is what `validate` reads.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from compiler.errors import FatalError
from compiler.importer.emit import dump
from compiler.manifest.yaml_source import load_bytes
from compiler.storage.files import write_atomic

HEADER = ["Imported by `triton-gitops import` from {source}.",
          "Check it with `triton-gitops validate`; the key under `models` is the model's (folder) name."]


@dataclass
class ImportResult:
    text: str
    models: int
    problems: list
    copied: int = 0
    notes: list = field(default_factory=list)  # compiler.notes.Note, for the command to show


def render(plan, source: str) -> str:
    models = [("models", name) for name in plan.data["models"]]
    return dump(plan.data, [line.format(source=source) for line in HEADER], plan.comments,
                block_paths=[("models",)] + models, spaced_paths=models)


def _check_reloads(text: str, data: dict) -> None:
    """The emitter's promise, checked on every run: our loader reads back exactly `data`."""
    document = load_bytes(text.encode("utf-8"), "<import>")
    # Compared as JSON text so that a NaN (never equal to itself) still compares equal.
    same = json.dumps(document.data, sort_keys=True) == json.dumps(_keys_as_text(data), sort_keys=True)
    if document.problems or not same:
        raise FatalError("internal: the generated manifest does not read back as written",
                         "report this with the source repository's config.pbtxt files")


def _keys_as_text(value):
    # The loader gives every mapping key as a string (version `1:` is "1").
    if isinstance(value, dict):
        return {str(k): _keys_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys_as_text(v) for v in value]
    return value


def _copy(repo, plan, copy_to: Path) -> int:
    if copy_to.exists() and (not copy_to.is_dir() or any(copy_to.iterdir())):
        raise FatalError(f"{copy_to}: exists and is not an empty folder", "--copy-to wants a new or empty folder")
    for folder in plan.folders:
        folder.mkdir(parents=True, exist_ok=True)
    for source, destination in plan.copies:
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            repo.fs.get_file(source, str(destination))
        except OSError as exc:
            raise FatalError(f"cannot copy {repo.display(source)} to {destination}: {exc}")
    return len(plan.copies)


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def import_repository(source: str, out: Optional[Path], copy_to: Optional[Path] = None,
                      force: bool = False, server: Optional[dict] = None) -> ImportResult:
    """Read `source`, write the manifest to `out` (None: only return the text). `server`
    ({"backends", "repository_agents"} -> names) declares the custom ones the servers have."""
    from compiler.importer.scan import open_repository  # noqa: PLC0415 - ~150 ms: import-analyzer loads this package for entry/emit alone
    from compiler.importer.to_manifest import plan_import  # noqa: PLC0415 - ~190 ms: import-analyzer loads this package for entry/emit alone

    if out is not None and out.exists() and not force:
        raise FatalError(f"{out}: exists; not overwritten", "pass --force to replace it, or -o another file")
    repo = open_repository(source)
    plan = plan_import(repo, out if out is not None else Path("models.yaml"), copy_to, server)
    if not plan.ok:
        return ImportResult("", len(plan.data["models"]), plan.problems, notes=plan.notes)
    text = render(plan, source)
    _check_reloads(text, plan.data)
    copied = _copy(repo, plan, copy_to) if copy_to is not None else 0
    if out is not None:
        write_text_atomic(out, text)
    return ImportResult(text, len(plan.data["models"]), plan.problems, copied, plan.notes)


__all__ = ["ImportResult", "import_repository", "render", "write_text_atomic"]

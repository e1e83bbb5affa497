"""Stage 1: read models.yaml, validate it (schema, then Triton's rules), build the typed model."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from compiler.answers import PLAIN
from compiler.errors import FatalError, Problem
from compiler.manifest.yaml_source import MAX_BYTES, Document, load_bytes

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.model import Manifest
    from compiler.storage.policy import Policy

DEFAULT_MANIFEST = "models.yaml"


@dataclass
class LoadedManifest:
    document: Document
    manifest: Optional[Manifest] = None  # when the schema passed
    problems: list = field(default_factory=list)  # located
    # compiler.notes.Note: what the user should know besides the problems (no `triton:` said, a
    # graph the rules could not read), in the order found; the commands show them.
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.manifest is not None and not any(p.is_error for p in self.problems)


def read_manifest_bytes(path: Path) -> bytes:
    """At most one byte past the size limit is read, so a 1 GB file (or /dev/zero) costs
    no more memory than a legal manifest; the loader then refuses it as too large."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise FatalError(f"{path}: no such manifest", "create one with `triton-gitops init`, or pass its path")
    except IsADirectoryError:
        raise FatalError(f"{path}: is a folder, not a manifest file", f"did you mean {path / DEFAULT_MANIFEST}?")
    except OSError as exc:
        raise FatalError(f"{path}: cannot read: {exc.strerror}")


def load_manifest(path, display: str = "", results=PLAIN, policy: Optional[Policy] = None) -> LoadedManifest:
    """Everything wrong with the manifest at `path`, in one pass; the model if nothing is.
    `results`: answers of earlier runs to reuse (compiler/answers.py); PLAIN computes all.
    `policy`: the run's storage policy (Settings.policy); None: the default one, which allows
    only the clouds' own endpoints and no variable."""
    from compiler.manifest.fastcheck import is_valid  # noqa: PLC0415 - ~50 ms: schema and explain load this package without loading a manifest
    from compiler.manifest.specs import build_manifest  # noqa: PLC0415 - ~110 ms: schema and explain load this package without loading a manifest

    path = Path(path)
    document = results.document(read_manifest_bytes(path), display or str(path), load_bytes)
    result = LoadedManifest(document, problems=list(document.problems))
    if document.problems:
        return result
    if not isinstance(document.data, dict):
        result.problems.append(document.place(Problem("a manifest is a mapping with `version` and `models`",
                                                      "schema-type", ())))
        return result
    schema = [] if results.is_valid(document.data, is_valid) else _located_schema_problems(document)
    result.problems.extend(schema)
    broken = _broken_models(schema, document.data)
    if broken is None:
        return result
    # Models the schema already rejected are left out, but what is left of them and the
    # rest still get Triton's rules, so one run reports everything.
    manifest, problems, notes = build_manifest(document.data, path.resolve(), skip=broken,
                                               schema_problems=[p for p in schema if p.is_error], results=results,
                                               policy=policy)
    for problem in problems:
        document.place(problem)
    result.problems.extend(problems)
    if not broken:
        result.manifest = manifest
    from compiler.manifest.triton import unsaid_note  # noqa: PLC0415 - ~9 ms: schema and explain load this package without loading a manifest

    unsaid = unsaid_note(manifest, display or path.name)
    result.notes = notes + ([unsaid] if unsaid is not None else [])
    return result


def _located_schema_problems(document) -> list:
    # jsonschema (imported only here) for the detailed, re-worded problems: the yes/no
    # check said the document is invalid.
    from compiler.manifest.validate import is_key_problem, schema_problems  # noqa: PLC0415 - jsonschema ~180 ms: only an invalid manifest

    problems = schema_problems(document.data)
    for problem in problems:
        document.place(problem, is_key_problem(problem))
    return problems


def _broken_models(schema_problems, data):
    """Names of models with schema errors; None when the error is outside any one model."""
    broken = set()
    for problem in schema_problems:
        if not problem.is_error:
            continue
        if len(problem.path) >= 2 and problem.path[0] == "models" and problem.path[1] in (data.get("models") or {}):
            broken.add(problem.path[1])
        else:
            return None
    return broken

"""From a read repository to the manifest's data: one entry per model folder, sources
pointing at the original files (or at their copies under --copy-to), and the problems
worth telling the user about.

What maps where:
- config.pbtxt -> the entry's fields (compiler/importer/entry.py);
- numbered folders -> `versions: {N: {source: folder}}`;
- every other file (labels, tokenizers, initial_state/ ...) -> `files:`;
- warmup/<f> named by an `input_data_file` -> that warmup input's `file:` (the compiler
  copies it into warmup/); `input_data_file` is kept so the name a reader sees is the
  original's;
- configs/<name>.pbtxt (variants chosen with `tritonserver --model-config-name`) -> the
  model's `configs: {name: ...}`, each written as the fields that differ from config.pbtxt
  (compiler/manifest/variants.py); other files under configs/ are reported, not imported.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Optional

from google.protobuf import text_format

from compiler.errors import ERROR, WARNING, Problem
from compiler.importer.entry import config_to_entry
from compiler.importer.onnx_io import complete
from compiler.importer.scan import read_text
from compiler.manifest.schema import VARIANT_NAME_PATTERN
from compiler.manifest.variants import variant_of
from compiler.proto import ModelConfig
from compiler.rules import RuleContext
from compiler.rules.base import resolve_backend
from compiler.rules.installed import STANDARD_AGENTS, STANDARD_BACKENDS

# Model file name -> backend, for folders without config.pbtxt (Triton's auto-complete
# picks the backend from these names; model_repository.md, "Model Files").
_MODEL_FILES = {
    "model.plan": "tensorrt", "model.onnx": "onnxruntime", "model.pt": "pytorch", "model.pt2": "pytorch",
    "model.savedmodel": "tensorflow", "model.graphdef": "tensorflow", "model.py": "python", "model.xml": "openvino",
}


@dataclass
class ImportPlan:
    data: dict  # the manifest
    comments: dict  # path -> comment lines above that key
    problems: list  # located on the source's files
    notes: list = field(default_factory=list)  # compiler.notes.Note: checks that could not be made
    copies: list = field(default_factory=list)  # (source path, local destination Path)
    folders: list = field(default_factory=list)  # local folders to create (empty version folders)

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


class _Refs:
    """How the manifest names a source file: relative to the manifest for local files, the
    URL for remote ones, or the copy under --copy-to."""

    def __init__(self, repo, manifest_dir: Path, copy_to: Optional[Path]):
        self.repo, self.manifest_dir, self.copy_to = repo, manifest_dir, copy_to

    def __call__(self, model, rel: str, path: str) -> str:
        if self.copy_to is not None:
            return self._relative(self.copy_to / model.name / rel)
        if self.repo.local:
            return self._relative(Path(path))
        return self.repo.display(path)

    def _relative(self, target: Path) -> str:
        return PurePosixPath(Path(os.path.relpath(os.path.abspath(target), self.manifest_dir))).as_posix()


def _parse(model, repo, problems) -> Optional[ModelConfig]:
    display = repo.display(model.config_path)
    try:
        return text_format.Parse(model.config_text, ModelConfig())
    except text_format.ParseError as exc:
        line, column = exc.GetLine() or 0, exc.GetColumn() or 0
        message = str(exc).split(" : ", 1)[-1]
        problems.append(Problem(f"config.pbtxt does not parse as a ModelConfig: {message}", "import-parse", (),
                                ERROR, display, line, column,
                                hint="fix the file (templates must be filled in first), or move the folder out"))
        return None


def _name_line(text: str) -> tuple[int, int]:
    """(line, column) of the top-level `name:` in a config.pbtxt, for the warning's location."""
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"name\s*:", line):
            return number, 1
    return 1, 1


def _warmup_files(entry: dict, model, ref, problems, display) -> set:
    """Give each `input_data_file` its source file; return the warmup files used."""
    used = set()
    for sample in entry.get("model_warmup", []):
        for name, value in sample.get("inputs", {}).items():
            wanted = value.get("input_data_file")
            if wanted is None:
                continue
            rel = PurePosixPath(wanted).as_posix()
            if rel in model.warmup:
                value["file"] = ref(model, f"warmup/{rel}", model.warmup[rel])
                used.add(rel)
            else:
                problems.append(Problem(f"warmup input {name!r} names warmup/{wanted}, which is not in the model "
                                        "folder; kept as written", "import-warmup", (), WARNING, display))
    return used


def _variants(model, repo, ref, problems, entry: dict, used: set, display) -> dict:
    """configs/<name>.pbtxt -> {name: the fields that differ from the model's entry} (see
    compiler/manifest/variants.py); what else is under configs/ Triton never reads."""
    out = {}
    for rel, path in sorted(model.configs.items()):
        name = rel[: -len(".pbtxt")] if rel.endswith(".pbtxt") else ""
        where = repo.display(path)
        if "/" in rel or not re.match(VARIANT_NAME_PATTERN, name):
            problems.append(Problem(f"configs/{rel} is not a config variant Triton can load (configs/<name>.pbtxt, "
                                    "a plain name); not imported", "import-configs", (), WARNING, where))
            continue
        try:
            config = text_format.Parse(read_text(repo, path), ModelConfig())
        except (text_format.ParseError, UnicodeDecodeError, OSError) as exc:
            problems.append(Problem(f"configs/{rel} does not parse as a ModelConfig: {exc}", "import-parse", (),
                                    ERROR, where, hint="fix the file, or move it out of configs/"))
            continue
        if config.name and config.name != model.name:
            problems.append(Problem(f"config name {config.name!r} differs from the folder name {model.name!r}; "
                                    "the manifest uses the folder name", "import-name", (), WARNING, where))
        full = config_to_entry(config)
        used.update(_warmup_files(full, model, ref, problems, where))
        out[name] = variant_of(entry, full)
    return out


def _guess_backend(model) -> str:
    names = {rel.split("/")[1] for rel in model.contents if "/" in rel and rel.split("/")[0].isdigit()}
    found = sorted({_MODEL_FILES[n] for n in names if n in _MODEL_FILES})
    return found[0] if len(found) == 1 else ""


def _model_entry(model, repo, ref, problems, comments, notes) -> Optional[dict]:
    display = repo.display(model.path)
    for problem in model.problems:
        problem.file = problem.file or display
    problems.extend(model.problems)
    if model.config_path is None:
        entry: dict = {}
        backend = _guess_backend(model)
        if backend:
            entry["backend"] = backend
        problems.append(Problem(f"model {model.name!r} has no config.pbtxt: Triton completes its config from the "
                                "model file, the manifest needs it written out", "import-no-config", (), WARNING,
                                display, hint="add input/output (and max_batch_size) to the entry; a server that "
                                              f"loaded it shows them at GET v2/models/{model.name}/config"))
        comments[("models", model.name)] = [("no config.pbtxt in the original: Triton auto-completed this model;"
                                             " add input/output from GET v2/models/<name>/config")]
    else:
        config = _parse(model, repo, problems)
        if config is None:
            return None
        if config.name and config.name != model.name:
            # Triton 2.51 refuses it at the poll ("unexpected 'name'", tests/judge: name_differs_from_folder).
            problems.append(Problem(f"config name {config.name!r} differs from the folder name {model.name!r}; "
                                    "Triton refuses to load such a model", "import-name", (), ERROR,
                                    repo.display(model.config_path), *_name_line(model.config_text),
                                    hint="fix the name in config.pbtxt (or drop it), or rename the folder"))
        entry = _backend_from_model_file(config_to_entry(config), config, model)
    if _is_onnx(entry, model) and complete(entry, model, repo, problems, display, notes):
        entry = _in_proto_order(entry)
    if not model.versions:
        # Nothing to serve: "at least one version must be available" (tests/judge: ensemble_no_version_folder).
        # The manifest cannot say it either: an ensemble without `versions` gets an empty 1/.
        problems.append(Problem(f"model {model.name!r} has no version folder; Triton refuses to load it (\"at least "
                                "one version must be available\")", "import-no-version", (), ERROR, display,
                                hint="add a version folder (an ensemble: an empty 1/), or move the model out"))
    used = _warmup_files(entry, model, ref, problems, display)
    configs = _variants(model, repo, ref, problems, entry, used, display)
    for rel in sorted(set(model.warmup) - used):
        problems.append(Problem(f"warmup/{rel} is named by no warmup input; not imported", "import-warmup", (),
                                WARNING, display))
    if model.files:
        entry["files"] = {rel: ref(model, rel, path) for rel, path in sorted(model.files.items())}
    if model.versions:
        entry["versions"] = {n: {"source": ref(model, str(n), path)} for n, path in sorted(model.versions.items())}
    if configs:
        entry["configs"] = configs
    return entry


def _backend_from_model_file(entry: dict, config, model) -> dict:
    """A config without platform and backend gets them from the model file, as Triton's
    auto-complete picks them (tests/judge: backend_from_model_file); the manifest writes them out."""
    if config.platform or config.backend:
        return entry

    found = resolve_backend(config, RuleContext(model.name, files=set(model.contents)))
    if found.source.startswith(("model file", "default_model_filename")):
        if found.platform:
            entry["platform"] = found.platform
        if found.backend:
            entry["backend"] = found.backend
    return _in_proto_order(entry)


def _is_onnx(entry: dict, model) -> bool:
    if entry.get("backend") or entry.get("platform"):
        return entry.get("backend") == "onnxruntime" or entry.get("platform") == "onnxruntime_onnx"
    return _guess_backend(model) == "onnxruntime"


def _in_proto_order(entry: dict) -> dict:
    order = {f.name: i for i, f in enumerate(ModelConfig.DESCRIPTOR.fields)}
    return dict(sorted(entry.items(), key=lambda kv: order.get(kv[0], len(order))))


def _server(models: dict, comments: dict, problems: list, declared: dict) -> dict:
    """Custom backends and repository agents are declared, never guessed: a stock Triton refuses
    them (tests/judge: custom_backend_undeclared, repository_agent_custom_undeclared), and import
    cannot know what the serving host has installed. `import --backend/--repository-agent` names
    go into `server:`; each other one is named in a warning and in a comment showing the block to
    add, and validate reports it until then."""
    used = {"backends": {e["backend"] for e in models.values() if e.get("backend")} - STANDARD_BACKENDS,
            "repository_agents": {a.get("name", "") for e in models.values()
                                  for a in (e.get("model_repository_agents") or {}).get("agents", [])}
            - STANDARD_AGENTS - {""}}
    server: dict = {}
    missing: dict = {}
    for kind, names in used.items():
        if names & set(declared.get(kind) or ()):
            server[kind] = sorted(names & set(declared.get(kind) or ()))
        if names - set(declared.get(kind) or ()):
            missing[kind] = sorted(names - set(declared.get(kind) or ()))
    if server:
        comments[("server",)] = [("custom backends / repository agents the servers have installed (import --backend, "
                                  "--repository-agent)")]
    if missing:
        comments[("models",)] = ([("custom backends / repository agents the imported models use, not declared: if "
                                   "the servers have them installed, declare them (or import with --backend NAME, "
                                   "--repository-agent NAME):"), "server:"]
                                 + [f"  {kind}: [{', '.join(names)}]" for kind, names in missing.items()])
    for kind, names in missing.items():
        label, flag = ("backend", "--backend") if kind == "backends" else ("repository agent", "--repository-agent")
        for name in names:
            problems.append(Problem(f"{label} {name!r} is not one the Triton containers ship and is not declared "
                                    "as installed; validate reports it until it is", "import-custom", (), WARNING,
                                    hint=f"if the servers have it: import with `{flag} {name}`, or add the `server:` "
                                         "block shown in the manifest's comment"))
    return server


def plan_import(repo, manifest_path: Path, copy_to: Optional[Path] = None, declared: Optional[dict] = None) -> ImportPlan:
    manifest_dir = Path(os.path.abspath(manifest_path)).parent
    ref = _Refs(repo, manifest_dir, Path(os.path.abspath(copy_to)) if copy_to is not None else None)
    problems: list = []
    notes: list = []
    comments: dict = {}
    models: dict = {}
    for model in repo.models:
        entry = _model_entry(model, repo, ref, problems, comments, notes)
        if entry is not None:
            models[model.name] = entry
    if not repo.models:
        problems.append(Problem(f"{repo.url}: no model folders found", "import-empty", (), ERROR,
                                hint="give the repository folder, the one that holds <model>/config.pbtxt"))
    data: dict = {"version": 1}
    server = _server(models, comments, problems, declared or {})
    if server:
        data["server"] = server
    data["models"] = models
    plan = ImportPlan(data, comments, problems, notes)
    if copy_to is not None:
        base = Path(copy_to)
        for model in repo.models:
            plan.copies.extend((path, base / model.name / rel) for rel, path in sorted(model.contents.items()))
            plan.folders.extend(base / model.name / str(n) for n in sorted(model.versions))
    elif not repo.local:
        # Version sources may be URLs (fetched at compile time); `files:` and warmup `file:` are read locally.
        local_only = [m.name for m in repo.models if m.name in models and (m.files or m.warmup)]
        if local_only:
            problems.append(Problem(f"{len(local_only)} model(s) have files (labels, warmup data, ...) that the "
                                    f"manifest must name as local paths: {', '.join(local_only[:5])}"
                                    + (", ..." if len(local_only) > 5 else ""), "import-remote", (), WARNING,
                                    repo.url, hint="add --copy-to DIR to copy them (and the versions) next to it"))
    return plan

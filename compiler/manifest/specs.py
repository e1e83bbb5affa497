"""From a schema-valid document to typed `ModelSpec`s, checking what only the manifest knows
(sources exist, file names are safe) and running Triton's rules on every config."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath
from typing import Optional

from google.protobuf import json_format

from compiler.answers import PLAIN
from compiler.errors import Problem
from compiler.manifest import local_target
from compiler.manifest import triton as triton_key
from compiler.manifest import variants as config_variants
from compiler.manifest.normalize import canonical_config, merge_defaults
from compiler.manifest.sources import SourceScope, local_source, source_boundary
from compiler.model import FileSpec, Manifest, ModelSpec, TargetSpec, VersionSpec
from compiler.proto import ModelConfig
from compiler.rules import RuleContext, check_config
from compiler.rules.folder import ManifestFolder
from compiler.rules.model_files import version_number
from compiler.storage import destinations
from compiler.storage import policy as storage_policy
from compiler.storage.policy import Policy
from compiler.storage.urls import is_local_url

_RESERVED = {"config.pbtxt", "warmup", "configs"}


def _is_remote(source: str) -> bool:
    return not is_local_url(source)


def _remote_problems(source, options, doc_path, policy) -> list:
    """Why a URL source may not be read: a scheme the tool does not read, or a destination
    (endpoint, variable) the storage policy does not allow. Checked before any request."""
    wrong = destinations.source_scheme_problem(source, doc_path + ("source",))
    if wrong is not None:
        return [wrong]
    return destinations.check(source, options, doc_path, policy, "source")


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and "\\" not in name and ":" not in name and "\0" not in name


INT64_MAX = 2**63 - 1


def _versions(entry, model_path, scope, config, problems, policy) -> dict:
    versions = {}
    for key, spec in (entry.get("versions") or {}).items():
        doc_path = model_path + ("versions", key)
        number = int(key)
        if number > INT64_MAX:
            problems.append(Problem(f"version {key} is larger than Triton's int64 version numbers", "version-number",
                                    doc_path, hint="use a smaller version number"))
            continue
        source = spec["source"]
        if _is_remote(source):
            # Listed, hashed and fetched by compiler.artifacts when the tree is built.
            options = dict(spec.get("storage_options") or {})
            refused = _remote_problems(source, options, doc_path, policy)
            problems.extend(refused)
            if not refused:
                versions[number] = VersionSpec(number, source, None, spec.get("sha256", ""), doc_path, remote=True,
                                               storage_options=options)
            continue
        # file:// and local:// name a local file too: the same rule as a plain path applies.
        local = local_source(scope, source, doc_path + ("source",), problems)
        if local is not None:
            versions[number] = VersionSpec(number, source, local, spec.get("sha256", ""), doc_path)
    if not versions and config.get("platform") == "ensemble":
        # Triton needs a version folder even for an ensemble, which has no files of its own.
        versions[1] = VersionSpec(1, "", None, "", model_path)
    return versions


def _files(entry, doc_path_of, scope, problems) -> dict:
    files = {}
    for name, source in (entry.get("files") or {}).items():
        doc_path = doc_path_of(("files", name))
        if not _safe_relative(name) or PurePosixPath(name).parts[0] in _RESERVED or name.split("/")[0].isdigit():
            problems.append(Problem(f"file name {name!r} is not allowed in a model folder", "file-name", doc_path,
                                    hint="use a plain relative name; config.pbtxt, warmup/, configs/ and numbered "
                                         "folders are the compiler's"))
            continue
        head = name.split("/")[0]
        if "/" in name and version_number(head) is not None:
            # Triton reads a folder named like '3.bak' as version 3 (tests/judge): not a place for files.
            problems.append(Problem(f"file name {name!r} puts a file in folder {head!r}, which Triton reads as "
                                    f"version {version_number(head)}", "file-name", doc_path,
                                    hint="use a folder name that does not start with a number; versions go under "
                                         "`versions:`"))
            continue
        local = local_source(scope, source, doc_path, problems, need_file=True)
        if local is not None:
            files[name] = FileSpec(name, source, local, doc_path)
    return files


def _check_default_filename(config_dict, model, problems) -> None:
    """A file source is written under this name inside its version folder, so it must be a
    plain file name: `../../x` would write outside the repository."""
    name = config_dict.get("default_model_filename")
    if not isinstance(name, str) or not name:
        return
    if name in (".", "..") or any(c in name for c in "/\\\0") or len(name.encode("utf-8")) > 255:
        problems.append(Problem(f"default_model_filename {name!r} must be a plain file name", "default-model-filename",
                                model.doc_path_of(("default_model_filename",)),
                                hint="no folders, '..', backslashes or NUL; at most 255 bytes"))


def _parse_config(config_dict, doc_path, problems, results=PLAIN):
    try:
        return results.parse_config(config_dict, lambda d: json_format.ParseDict(d, ModelConfig()))
    except json_format.ParseError as exc:
        # The schema normally catches everything ParseDict would; this is the safety net.
        problems.append(Problem(f"not a valid ModelConfig: {exc}", "config-parse", doc_path))
        return None


def build_manifest(data: dict, manifest_path: Path, skip=frozenset(), schema_problems=(), results=PLAIN,
                   policy: Optional[Policy] = None) -> tuple:
    """(Manifest, problems with document paths, notes of Triton's rules). Expects data that passed the schema, except
    for the models in `skip`, which have the errors `schema_problems`: those get Triton's
    rules on what is left of them (_rules_despite_schema) and are left out of the Manifest.
    `results`: answers of earlier runs to reuse (compiler.fastpath.results); `policy`: the
    run's storage policy (Settings.policy), which remote sources and targets must keep to (None:
    the default one, the strictest)."""
    policy = storage_policy.DEFAULT if policy is None else policy
    root = manifest_path.parent
    manifest = Manifest(manifest_path, root, external_models=list(data.get("external_models") or []))
    problems: list = []
    manifest.triton = triton_key.releases_of(data.get("triton"), ("triton",), problems)
    manifest.server = {k: set(v) for k, v in (data.get("server") or {}).items()}
    for name, target in sorted((data.get("targets") or {}).items()):
        spec = TargetSpec(name, target["url"], dict(target.get("storage_options") or {}), ("targets", name),
                          triton_key.releases_of(target.get("triton"), ("targets", name, "triton"), problems),
                          list(target.get("servers") or []), config_name=target.get("config_name", ""))
        if not is_local_url(spec.url):
            problems.extend(destinations.check(spec.url, spec.storage_options, spec.doc_path, policy, "target"))
        else:
            problems.extend(local_target.target_problems(spec, manifest_path, policy))
        manifest.targets[name] = spec
    defaults = data.get("defaults") or {}
    scope = SourceScope(root, source_boundary(root))
    for name in sorted(data.get("models") or {}):
        if name in skip:
            continue
        entry = data["models"][name]
        model_path = ("models", name)
        if entry.get("name", name) != name:
            problems.append(Problem(f"name {entry['name']!r} differs from the key {name!r}", "model-name",
                                    model_path + ("name",), hint="drop `name`; the key is the model's name"))
        merged, inherited = merge_defaults(defaults, entry)
        config_dict, warmups = results.canonical_config(name, merged, canonical_config)
        model = ModelSpec(name, None, config_dict, inherited=inherited, doc_path=model_path, warmups=warmups,
                          tuning=dict(entry.get("tuning") or {}))
        model.config = _parse_config(config_dict, model.doc_path, problems, results)
        model.versions = _versions(entry, model_path, scope, config_dict, problems, policy)
        model.declared_versions = set(model.versions) | {
            int(k) for k in (entry.get("versions") or {}) if str(k).isdigit() and int(k) <= INT64_MAX}
        model.files = _files(merged, model.doc_path_of, scope, problems)
        for warmup in warmups:
            if warmup.source:
                warmup.local_path = local_source(scope, warmup.source,
                                                 model.doc_path_of(warmup.path + ("file",)), problems, need_file=True)
        _check_default_filename(config_dict, model, problems)
        model.variants = config_variants.build_variants(
            model, merged, entry.get("configs"), lambda d, p: _parse_config(d, p, problems, results), problems)
        taken = {w.file_name: w for w in model.warmups}  # warmup/ names, shared by the model and its variants
        for variant in model.variants.values():
            _variant_sources(variant, scope, problems, taken)
        manifest.models[name] = model
    manifest.local_sources = scope.asked
    # Models left out for schema errors still exist: an ensemble naming one is not also wrong.
    notes: list = []
    problems.extend(_rule_problems(manifest, set(skip) & set(data.get("models") or {}), results, notes))
    known = set(manifest.models) | set(manifest.external_models) | (set(skip) & set(data.get("models") or {}))
    for name in sorted(set(skip) & set(data.get("models") or {})):
        problems.extend(_rules_despite_schema(name, data["models"][name], defaults, known,
                                              [p for p in schema_problems if tuple(p.path[:2]) == ("models", name)],
                                              notes))
    return manifest, problems, notes


def _variant_sources(variant, scope, problems, taken: dict) -> None:
    """A variant's own warmup files: resolved like the model's, checked for a name clash."""
    own = []
    for warmup in variant.warmups:
        doc_path = variant.doc_path + warmup.path
        if warmup.source:
            warmup.local_path = local_source(scope, warmup.source, doc_path + ("file",), problems, need_file=True)
        other = taken.get(warmup.file_name)
        if other is not None and other.source and warmup.source and other.local_path == warmup.local_path:
            continue  # the same file the model (or another input) already puts there
        if other is not None:
            problems.append(Problem(f"warmup file {warmup.file_name!r} of config variant {variant.name!r} clashes "
                                    "with another warmup file of the model", "warmup-file", doc_path,
                                    hint="give this input's `input_data_file` another name"))
            continue
        taken[warmup.file_name] = warmup
        own.append(warmup)
    variant.warmups = own
    if variant.config is not None:
        _check_default_filename(variant.config_dict, _Located(variant.doc_path), problems)


class _Located:
    """doc_path_of for a variant's own keys (what _check_default_filename needs)."""

    def __init__(self, doc_path):
        self.doc_path = doc_path

    def doc_path_of(self, path):
        return self.doc_path + tuple(path)


def _overlaps(path: tuple, others) -> bool:
    return any(path[:len(o)] == o or o[:len(path)] == path for o in others)


_MEANT = re.compile(r"^did you mean '([^']+)'\?$")


def _without(entry, problem):
    """A copy of `entry` (a model) without what the schema rejected at `problem.path`: the
    mapping key it runs through last is dropped, or, for an unknown key with a likely meaning
    ("did you mean 'backend'?"), renamed to it, so the rules see what the author meant."""
    path = tuple(problem.path[2:])
    keys = [i for i, part in enumerate(path) if isinstance(part, str)]
    if not keys or not isinstance(entry, dict):
        return entry
    # Copied along the path only: the rest is shared, never changed (a hostile manifest may hold
    # a million-entry list elsewhere, which a deep copy would walk).
    pruned = holder = dict(entry)
    for part in path[:keys[-1]]:
        child = holder[part]
        child = dict(child) if isinstance(child, dict) else list(child) if isinstance(child, list) else child
        holder[part] = child
        holder = child
    if isinstance(holder, dict):
        value = holder.pop(path[keys[-1]], None)
        meant = _MEANT.match(problem.hint) if problem.rule == "schema-unknown-key" else None
        if meant and meant.group(1) not in holder:
            holder[meant.group(1)] = value
    return pruned


def _rules_despite_schema(name, entry, defaults, known, rejected, notes: list) -> list:
    """Triton's rules on a model the schema rejected, with the rejected parts taken out: one
    run then reports a wrong type in `input` and, say, a max_batch_size Triton refuses. A rule
    problem at (or around) a place the schema already reported is left out, and a model too
    broken to read as a ModelConfig gets none."""
    if not isinstance(entry, dict):
        return []
    pruned = entry
    try:
        for problem in rejected:
            pruned = _without(pruned, problem)
        merged, inherited = merge_defaults(defaults, pruned)
        config_dict, warmups = canonical_config(name, merged)
        config = json_format.ParseDict(config_dict, ModelConfig())
        model = ModelSpec(name, config, config_dict, inherited=inherited, doc_path=("models", name), warmups=warmups)
        declared = {int(k) for k in (pruned.get("versions") or {}) if str(k).isdigit() and int(k) <= INT64_MAX}
        files = {str(f) for f in (merged.get("files") or {})} | {f"warmup/{w.file_name}" for w in warmups}
        ctx = RuleContext(name, versions=declared, files=files, repository_models=known, model_configs={name: config},
                          model_versions={name: declared})
        found = check_config(config, ctx)
    except Exception:  # noqa: BLE001 - too broken for the rules: its schema errors say why
        return []
    notes.extend(found.notes)
    out = []
    for problem in found.problems:
        problem.path = model.doc_path_of(problem.path)
        if not _overlaps(tuple(problem.path), [tuple(p.path) for p in rejected]):
            out.append(problem)
    return out


def _rule_problems(manifest: Manifest, also_known, results, notes: list) -> list:
    """The problems Triton's rules find on every model (its config, its variants, an ensemble
    served next to its steps' variants), located; their notes are added to `notes`."""
    problems = []
    known = set(manifest.models) | set(manifest.external_models) | set(also_known)
    release, said_by = triton_key.oldest(manifest)
    configs = {n: m.config for n, m in manifest.models.items() if m.config is not None}
    versions = {n: m.declared_versions for n, m in manifest.models.items()}
    for model in manifest.models.values():
        if model.config is None:
            continue
        files = set(model.files) | {f"warmup/{w.file_name}" for w in model.warmups}
        ctx = RuleContext(model.name, versions=model.declared_versions, files=files, repository_models=known,
                          model_configs=configs, model_versions=versions, triton=release, triton_from=said_by,
                          server=manifest.server, model_folder=ManifestFolder(model))
        own = set()
        found = results.check(model.config, ctx, check_config)
        notes.extend(found.notes)
        for problem in found.problems:
            own.add((problem.rule, problem.message, tuple(problem.path)))
            problem.path = model.doc_path_of(problem.path)
            problems.append(problem)
        for variant in model.variants.values():
            problems.extend(_variant_problems(model, variant, ctx, own, _served_as(manifest, variant.name), results,
                                              notes))
        if model.config.platform == "ensemble":
            problems.extend(_ensemble_under_variants(manifest, model, ctx, own, results, notes))
    problems.extend(config_variants.release_problems(manifest, release, said_by))
    problems.extend(config_variants.target_problems(manifest))
    return problems


def _served_as(manifest, variant_name: str) -> dict:
    """Every model's config as a server started with --model-config-name=variant_name loads it."""
    out = {}
    for name, model in manifest.models.items():
        variant = model.variants.get(variant_name)
        config = variant.config if variant is not None else model.config
        if config is not None:
            out[name] = config
    return out


def _ensemble_under_variants(manifest, model, ctx, model_problems, results, notes: list) -> list:
    """An ensemble without a variant of that name is served as config.pbtxt next to its steps'
    variants: their tensors and batch sizes are what it must fit."""
    out = []
    for name in config_variants.names(manifest):
        if name in model.variants:
            continue
        vctx = dataclasses.replace(ctx, model_configs=_served_as(manifest, name))
        found = results.check(model.config, vctx, check_config)
        notes.extend(found.notes)
        for problem in found.problems:
            if (problem.rule, problem.message, tuple(problem.path)) in model_problems:
                continue
            problem.path = model.doc_path_of(problem.path)
            problem.message = f"on servers started with --model-config-name={name}: {problem.message}"
            out.append(problem)
    return out


def _variant_problems(model, variant, ctx, model_problems, served_as: dict, results, notes: list) -> list:
    """Triton's rules on a variant's whole config, each problem at the line it comes from; one
    the model's config has at the same inherited spot is reported once, for the model."""
    if variant.config is None:
        return []
    files = set(model.files) | {f"warmup/{w.file_name}" for w in model.warmups + variant.warmups}
    vctx = dataclasses.replace(ctx, files=files, model_configs=served_as)
    out = []
    found = results.check(variant.config, vctx, check_config)
    notes.extend(found.notes)
    for problem in found.problems:
        inherited = not config_variants.written_in_variant(variant.written, tuple(problem.path))
        if inherited and (problem.rule, problem.message, tuple(problem.path)) in model_problems:
            continue
        config_variants.locate(model, variant, problem)
        out.append(problem)
    return out

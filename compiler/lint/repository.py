"""What lint knows around a config: a lone file, a model folder, or a whole model repository.

- lone file: the model name is the folder's when the file is called config.pbtxt (Triton's
  layout), else unknown; versions, files and the rest of the repository are unknown (None);
- model folder (holds config.pbtxt): numbered subfolders are versions (as Triton's
  VersionsToLoad reads them), every other file is in ctx.files; the repository is unknown;
- repository (a folder without config.pbtxt whose subfolders are models): every subfolder is a
  model, and their configs are given to each other for ensemble checks.
A model folder without config.pbtxt is a warning: Triton would have to generate the whole
configuration from the model file.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.errors import WARNING, Problem
from compiler.lint.config_file import ConfigFile, load_config
from compiler.rules import RuleContext, check_config
from compiler.rules.folder import DiskFolder, walk_files
from compiler.rules.model_files import version_number

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.triton_releases import Release

CONFIG = "config.pbtxt"
NOT_VERSIONS = {"warmup", "initial_state", "configs"}  # subfolders Triton does not read as versions


def _warn(message, rule, file, hint="") -> Problem:
    return Problem(message, rule, (), WARNING, hint=hint).at(file, 1, 1)


def _subdirs(path: str) -> list:
    try:
        return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    except OSError:
        return []


def _versions(folder: str, problems: list) -> set:
    versions = set()
    for name in _subdirs(folder):
        if name in NOT_VERSIONS:
            continue
        where = os.path.join(folder, name)
        if len(name) > 1 and name.startswith("0"):
            problems.append(_warn(f"ignore version directory '{name}' which contains leading zeros in its directory "
                                  "name", "version-folder-ignored", where, hint=f"rename it to {name.lstrip('0') or '0'}"))
        elif (number := version_number(name)) is not None and number < 0:
            problems.append(_warn(f"Triton reads version directory '{name}' as version {version_number(name)}, which "
                                  "no policy but `all` serves and no client can ask for", "version-folder-ignored",
                                  where, hint="name version folders 1, 2, 3, ...; move other folders out"))
        elif version_number(name) is None:
            problems.append(_warn(f"ignore version directory '{name}' which fails to convert to integral number",
                                  "version-folder-ignored", where,
                                  hint="Triton reads every subfolder of a model as a version; move other folders out"))
        elif not name.isdigit():
            number = version_number(name)
            versions.add(number)
            problems.append(_warn(f"Triton reads version directory '{name}' as version {number} (the number its name "
                                  f"starts with) and looks for that version's files in {number}/",
                                  "version-folder-prefix", where,
                                  hint="name version folders by their number only; move other folders out of the "
                                       "model folder"))
        else:
            versions.add(int(name))
            if os.path.isfile(os.path.join(where, CONFIG)):
                problems.append(_warn(f"{name}/{CONFIG} is ignored: Triton reads the configuration from the model "
                                      "folder, not from a version folder", "config-misplaced",
                                      os.path.join(where, CONFIG), hint="move it up one level"))
    return versions


@dataclass(frozen=True)
class LintOptions:
    """What lint is told about the servers, handed to every lint function of one run."""
    triton: Optional[Release] = None  # the release `lint --triton` checks against; None: none said
    # What the serving host has installed beyond the standard containers, as `lint --backend ...` or
    # `--manifest` declare it ({"backends": set, ...}); nothing declared: only the standard names.
    server: dict = field(default_factory=dict)


PLAIN = LintOptions()


def _run(cf: ConfigFile, ctx: RuleContext, options: LintOptions, notes: Optional[list] = None) -> list:
    """The rules' problems, placed; their notes (compiler.notes.Note) go to `notes` (None: dropped)."""
    ctx.triton = options.triton
    ctx.triton_from = "this repository (--triton)"
    ctx.server = options.server
    found = check_config(cf.config, ctx)
    if notes is not None:
        notes.extend(found.notes)
    # A rule that points at a file of the model folder (a version folder) has placed it already.
    return [problem if problem.file else cf.place(problem) for problem in found.problems]


def lint_file(path: str, options: LintOptions = PLAIN) -> list:
    cf = load_config(path)
    if cf.config is None:
        return cf.problems
    folder = os.path.dirname(os.path.abspath(path))
    name, extra = "", []
    if os.path.basename(path) == CONFIG:
        name = os.path.basename(folder)
        if name.isdigit():  # <model>/<version>/config.pbtxt: not where Triton looks
            extra.append(_warn(f"{name}/{CONFIG} is ignored: Triton reads the configuration from the model folder, "
                               "not from a version folder", "config-misplaced", path, hint="move it up one level"))
            name = os.path.basename(os.path.dirname(folder))
    ctx = RuleContext(name, versions=None, files=None, repository_models=None, model_file_may_complete=True)
    return cf.problems + extra + _run(cf, ctx, options)


def _missing_config(folder: str) -> Problem:
    misplaced = [d for d in _subdirs(folder) if d.isdigit() and os.path.isfile(os.path.join(folder, d, CONFIG))]
    hint = (f"found {misplaced[0]}/{CONFIG}: move it up into the model folder" if misplaced else
            f"add a {CONFIG} naming at least the backend, inputs and outputs")
    return _warn(f"model folder '{os.path.basename(os.path.normpath(folder))}' has no {CONFIG}; Triton must generate "
                 "the whole configuration from the model file (auto-complete), which only some backends can and "
                 "which --disable-auto-complete-config turns off", "config-missing", folder, hint=hint)


def lint_model_folder(folder: str, repository_models=None, model_configs=None, loaded=None,
                      model_versions=None, options: LintOptions = PLAIN, notes: Optional[list] = None) -> list:
    """The problems of one model folder; the notes of checks that could not be made (a graph
    that is not ONNX) are added to `notes` (None: dropped)."""
    problems: list = []
    config_path = os.path.join(folder, CONFIG)
    if not os.path.isfile(config_path):
        return [_missing_config(folder)]
    cf = loaded if loaded is not None else load_config(config_path)
    versions = _versions(folder, problems)
    if cf.config is None:
        return cf.problems + problems
    ctx = RuleContext(os.path.basename(os.path.normpath(folder)), versions=versions, files=walk_files(folder) - {CONFIG},
                      repository_models=repository_models, model_configs=model_configs or {},
                      model_versions=model_versions or {}, model_file_may_complete=True, model_folder=DiskFolder(folder))
    return cf.problems + problems + _run(cf, ctx, options, notes) + _variants(folder, ctx, options, notes)


def _variants(folder: str, ctx: RuleContext, options: LintOptions, notes: Optional[list]) -> list:
    """configs/<name>.pbtxt: what a server run with --model-config-name=<name> loads instead
    of config.pbtxt; the same rules, located in the variant's file."""
    variants = os.path.join(folder, "configs")
    if not os.path.isdir(variants):
        return []
    out = []
    for name in sorted(os.listdir(variants)):
        path = os.path.join(variants, name)
        if not name.endswith(".pbtxt") or not os.path.isfile(path):
            continue
        cf = load_config(path)
        out.extend(cf.problems)
        if cf.config is not None:
            out.extend(_run(cf, dataclasses.replace(ctx), options, notes))
    return out


def lint_repository(root: str, options: LintOptions = PLAIN, notes: Optional[list] = None) -> list:
    models = _subdirs(root)
    if not models:
        return [_warn(f"'{root}' holds no {CONFIG} and no model folders", "config-missing", root,
                      hint="pass a config file, a model folder or a model repository")]
    loaded = {}
    for name in models:
        config_path = os.path.join(root, name, CONFIG)
        if os.path.isfile(config_path):
            loaded[name] = load_config(config_path)
    configs = {name: cf.config for name, cf in loaded.items() if cf.config is not None}
    versions = {name: _versions(os.path.join(root, name), []) for name in loaded}  # warnings: each model's own
    problems = []
    for name in models:
        problems.extend(lint_model_folder(os.path.join(root, name), set(models), configs, loaded.get(name), versions,
                                          options, notes))
    return problems


def loose_configs(path: str) -> list:
    """`*.pbtxt` files lying directly in a folder that is no model folder (configs kept apart
    from their models, e.g. a folder of examples): each is linted as a lone file."""
    try:
        return sorted(os.path.join(path, e.name) for e in os.scandir(path)
                      if e.name.endswith(".pbtxt") and e.name != CONFIG and e.is_file())
    except OSError:
        return []


def lint_directory(path: str, options: LintOptions = PLAIN, notes: Optional[list] = None) -> list:
    if os.path.isfile(os.path.join(path, CONFIG)):
        return lint_model_folder(path, options=options, notes=notes)
    subdirs = _subdirs(path)
    if subdirs and all(d.isdigit() or d in NOT_VERSIONS for d in subdirs):
        return [_missing_config(path)]  # a model folder (it has version folders) without a config
    files = loose_configs(path)
    loose = [problem for file in files for problem in lint_file(file, options)]
    if files and not subdirs:
        return loose
    return lint_repository(path, options, notes) + loose


def configs_in(path: str) -> list:
    """The config files `lint_paths([path])` reads, to say what was linted."""
    if os.path.isfile(path):
        return [path]
    if os.path.isfile(os.path.join(path, CONFIG)):
        return [os.path.join(path, CONFIG)]
    models = [os.path.join(path, d, CONFIG) for d in _subdirs(path) if os.path.isfile(os.path.join(path, d, CONFIG))]
    return models + loose_configs(path)

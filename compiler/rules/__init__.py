"""Triton's own configuration rules, checked offline on a `ModelConfig`.

The same checks serve `validate`/`compile` (configs built from the manifest) and `lint`
(existing config.pbtxt files). Problems carry paths relative to the config
(`("input", 0, "reshape")`); the caller maps them to a manifest or pbtxt position. A check the
rules could not make (no `onnx` package, a file that is not ONNX) is a `Note` in the findings,
for the command to show: the rules never print.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.errors import Problem
    from compiler.notes import Note
    from compiler.rules.folder import ModelFolder
    from compiler.triton_releases import Release


@dataclass
class RuleContext:
    """What is known around one config. `None` means "cannot be known here"."""

    model_name: str
    # Version folders that will exist in the repository (manifest `versions`, or folders found by lint).
    versions: Optional[set] = None
    # Other files in the model folder, as POSIX paths relative to it (labels, warmup/...).
    files: Optional[set] = None
    # Every model of the repository (manifest models + external_models, or lint's folders);
    # None when a lone config.pbtxt is linted, so ensemble steps cannot be resolved.
    repository_models: Optional[set] = None
    # Configs of the other models, for ensemble tensor/type checks; may be partial.
    model_configs: dict = field(default_factory=dict)
    # Version folders of the other models ({name: versions}), for the versions an ensemble's
    # steps require; may be partial (a model not in it is not checked).
    model_versions: dict = field(default_factory=dict)
    # True for lint: a config Triton completes from the model file (auto-complete) may omit
    # platform/backend/data_type, so those are warnings there; the manifest must be complete.
    model_file_may_complete: bool = False
    # The oldest Triton that serves the model (compiler.triton_releases.Release) and where that
    # was said ("the manifest", "target 'prod'"); None: no `triton:` given, nothing is version-checked.
    triton: Optional[Release] = None
    triton_from: str = ""
    # Custom backends / repository agents / batch strategy libraries the manifest declares as installed
    # on the server ({"backends": set, "repository_agents": set, "batch_strategies": set}); None: no
    # declaration possible (lint), so an unknown name is only an error when it looks like a typo.
    server: Optional[dict] = None
    # The model folder's content, to read (compiler.rules.folder.ModelFolder); None: unknown.
    model_folder: Optional[ModelFolder] = None


@dataclass
class Findings:
    """What Triton's rules found on one config."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)  # checks that could not be made, and why


def check_config(config, ctx: RuleContext) -> Findings:
    """All problems Triton would raise for `config` (plus the manifest-level ones it implies),
    and the notes of the checks that could not be made."""
    from compiler.rules.registry import run_all  # noqa: PLC0415 - the rules ~70-125 ms: a result-cache hit never runs them

    return run_all(config, ctx)

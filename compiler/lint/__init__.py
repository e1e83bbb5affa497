"""Lint existing Triton configurations: config.pbtxt files, model folders, model repositories.

    from compiler.lint import lint_paths
    problems = lint_paths(["model_repository/"])   # list[Problem], each with file/line/column

Each path is a config file (any name), a model folder (holds config.pbtxt), a model
repository (its subfolders are models), or a folder of loose `*.pbtxt` files (each linted alone). Syntax errors and unknown fields are located by
protobuf's parser and the pbtxt scanner; everything else comes from `compiler.rules`, run with
`model_file_may_complete=True` because Triton may complete a config from the model file.
"""
from __future__ import annotations

import os
from typing import Optional

from compiler.errors import Problem
from compiler.lint.repository import (
    LintOptions,
    configs_in,
    lint_directory,
    lint_file,
    lint_model_folder,
    lint_repository,
)

__all__ = ["LintOptions", "configs_found", "lint_directory", "lint_file", "lint_model_folder", "lint_paths",
           "lint_repository"]


def configs_found(paths: list) -> list:
    """Every config file that `lint_paths(paths)` reads."""
    return [found for path in paths if os.path.exists(str(path)) for found in configs_in(str(path))]


def lint_paths(paths: list, triton=None, server=None, notes: Optional[list] = None) -> list:
    """Problems of every path, each placed at file:line:column (1:1 when nothing closer is known).
    `triton` (a compiler.triton_releases.Release) also checks fields against that release;
    `server` ({"backends", "repository_agents", "batch_strategies"} -> names) declares what the
    serving host has installed beyond the standard containers (as a manifest's `server:` does).
    `notes`: a list the notes of checks that could not be made (compiler.notes.Note: a graph that
    is not ONNX) are added to, for the caller to show; None: they are dropped."""
    options = LintOptions(triton, {k: set(v) for k, v in (server or {}).items()})
    problems: list = []
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            found = lint_directory(path, options, notes)
        elif os.path.isfile(path):
            found = lint_file(path, options)
        else:
            found = [Problem(f"no such file or directory: {path}", "lint-path").at(path, 1, 1)]
        problems.extend(sorted(found, key=Problem.sort_key))
    return problems

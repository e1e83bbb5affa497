"""Files that ship with triton-gitops beside its code: the Jinja2 templates.

An installed wheel carries them inside the package (`compiler/templates`, pyproject.toml's
force-include), where `importlib.resources` finds them; a source checkout installed editable
keeps them at the repository root, beside the package. $TRITON_GITOPS_TEMPLATES overrides
both (the composite action points it at its own checkout).
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from compiler.errors import FatalError


def templates_root() -> Path:
    """The `templates/` folder: its `init/` scaffolds a repository, its `report/` is the PR report."""
    override = os.environ.get("TRITON_GITOPS_TEMPLATES")
    candidates = [Path(override)] if override else []
    # A wheel installs the package as plain files, so the resource is a real folder.
    packaged = Path(str(resources.files("compiler").joinpath("templates")))
    candidates += [packaged, packaged.parent.parent / "templates"]
    for candidate in candidates:
        if (candidate / "init").is_dir():
            return candidate
    raise FatalError("the templates/ folder of triton-gitops was not found",
                     "install from a source checkout (pip install -e .) or set TRITON_GITOPS_TEMPLATES")

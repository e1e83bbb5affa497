"""`init`'s engine: render `templates/init/` into a new GitOps repository.

Every file under `templates/init/` is written to the same relative path; a name ending in
`.j2` is rendered with Jinja2 (and loses the suffix), anything else is copied as is. The
YAML templates are full of GitHub's own `${{ ... }}` expressions, so Jinja's delimiters
here are square: `[[ value ]]`, `[% if ... %]`, `[# comment #]`.

This repository's own workflows and `docker-compose.yml` are the same templates rendered
with `SELF` (see `self_files()`); a test keeps them in sync:

    python -m compiler.scaffold    # rewrite .github/workflows/* and docker-compose.yml here
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from compiler import __version__, triton_releases
from compiler.errors import FatalError
from compiler.manifest.schema import schema_text
from compiler.resources import templates_root
from compiler.scaffold.pins import ACTIONS, pin
from compiler.storage.files import write_atomic

SCHEMA_FILE = "schemas/models.schema.json"
# Triton 2.51 (the tritonserver the test suite runs, from nvidia-pytriton) is NGC release 24.10.
TRITON_TAG = "24.10"


@dataclass
class Options:
    """What the templates are rendered with; every field has a default, so nothing is asked."""
    name: str = "models"
    manifest: str = "models.yaml"
    install: str = f"triton-gitops=={__version__}"  # pip arguments that install the CLI in CI (init: install.py)
    python_version: str = "3.11"
    triton_tag: str = TRITON_TAG
    watch: list = field(default_factory=lambda: ["models.yaml", "models.lock", "models/**"])
    example: bool = True  # the tiny example model

    def context(self) -> dict:
        return {"name": self.name, "manifest": self.manifest, "install": self.install,
                "python_version": self.python_version, "triton_tag": self.triton_tag,
                "watch": list(self.watch), "example": self.example, "version": __version__,
                "schema_file": SCHEMA_FILE, "actions": ACTIONS, "pin": pin}


# This repository rendered by its own templates: installed from the checkout, and a PR
# that touches the compiler or the templates is planned too.
SELF = Options(name="triton-gitops", install="-e .",
               watch=["models.yaml", "models.lock", "examples/**", "compiler/**", "templates/**",
                      "pyproject.toml"])
SELF_FILES = (".github/workflows/triton-gitops-plan.yml", ".github/workflows/triton-gitops-sync.yml",
              "docker-compose.yml")


def environment(root: Path):
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)), undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        comment_start_string="[#", comment_end_string="#]")


def render_all(options: Options, root: Path | None = None) -> dict:
    """{relative POSIX path: bytes} of the whole scaffold, in path order."""
    root = root or templates_root()
    base = root / "init"
    env = environment(root)
    context = options.context()
    files = {}
    for path in sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        rel = path.relative_to(base).as_posix()
        if rel.startswith("models/") and not options.example:
            continue
        if rel.endswith(".j2"):
            text = env.get_template(f"init/{rel}").render(context)
            files[rel[:-3]] = text.encode("utf-8")
        else:
            files[rel] = path.read_bytes()

    files[SCHEMA_FILE] = schema_text(triton_releases.field_releases()).encode("utf-8")
    return dict(sorted(files.items()))


def self_files(root: Path | None = None) -> dict:
    """The files this repository keeps rendered from its own templates."""
    rendered = render_all(SELF, root)
    return {name: rendered[name] for name in SELF_FILES}


def write_files(files: dict, dest: Path, force: bool = False) -> list:
    """Write the scaffold; refuses (FatalError) to overwrite anything unless `force`."""
    existing = [name for name in files if (dest / name).exists()]
    if existing and not force:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise FatalError(f"{dest}: would overwrite {len(existing)} existing file(s): {shown}",
                         "pick an empty folder, or pass --force to overwrite them")
    written = []
    for name, data in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        written.append(name)
    return written


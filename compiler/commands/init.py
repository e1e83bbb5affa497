"""`triton-gitops init [DIR]`: scaffold a GitOps repository for Triton models. Asks nothing.

Writes, from `templates/init/`: the manifest (with the schema modeline) and its JSON Schema,
a tiny example model, the plan/sync workflows, `docker-compose.yml`, `.gitignore` and a
README. Existing files are never overwritten without `--force`.
"""
from __future__ import annotations

from pathlib import Path

from compiler.commands import EXIT_OK


def run(options) -> int:
    from compiler.scaffold import Options, render_all, write_files

    dest = Path(options.dir)
    name = options.name or dest.resolve().name or "models"
    scaffold = Options(name=name, example=not options.no_example)
    if options.install:
        scaffold.install = options.install
    if options.python_version:
        scaffold.python_version = options.python_version
    written = write_files(render_all(scaffold), dest, force=options.force)
    for rel in written:
        print(f"  create {rel}")
    print(f"\nscaffolded {dest} ({len(written)} files). Next:\n"
          f"  cd {dest}\n"
          "  git init -b main && git add -A && git commit -m 'triton-gitops init'\n"
          f"  triton-gitops validate {scaffold.manifest}\n"
          f"  triton-gitops compile {scaffold.manifest} --out build/model_repository\n"
          "  docker compose up -d && curl -fsS localhost:8000/v2/health/ready")
    return EXIT_OK

"""`triton-gitops init [DIR]`: scaffold a GitOps repository for Triton models. Asks nothing.

Writes, from `templates/init/`: the manifest (with the schema modeline) and its JSON Schema,
a tiny example model, the plan/sync/drift workflows, `docker-compose.yml`, `.gitignore` and a
README. Existing files are never overwritten without `--force`.
"""
from __future__ import annotations

from pathlib import Path

from compiler.artifacts.settings import Settings
from compiler.commands import EXIT_OK, show_notes
from compiler.errors import FatalError
from compiler.pipeline import lock_manifest
from compiler.scaffold import Options, render_all, write_files
from compiler.scaffold.install import default_install


def _write_lock(manifest: Path) -> bool:
    """models.lock for the example (the sync workflow runs `sync --locked`)."""
    try:
        loaded, update = lock_manifest(manifest, Settings.for_run())
    except FatalError:
        return False
    show_notes(loaded.notes)
    return update is not None and update.path.is_file()


def _default_install() -> str:
    """The workflows must install something a runner can resolve: this very triton-gitops
    (compiler/scaffold/install.py), or the user says what with --install."""
    spec, why = default_install()
    if not spec:
        raise FatalError(f"cannot tell what the scaffolded workflows should pip-install: {why}",
                         "pass --install with pip arguments a CI runner can resolve, e.g. --install "
                         "'triton-gitops @ git+https://github.com/OWNER/triton-gitops@COMMIT' or a wheel's URL")
    return spec


def run(options) -> int:
    dest = Path(options.dir)
    name = options.name or dest.resolve().name or "models"
    scaffold = Options(name=name, example=not options.no_example)
    scaffold.install = options.install or _default_install()
    if options.python_version:
        scaffold.python_version = options.python_version
    written = write_files(render_all(scaffold), dest, force=options.force)
    if scaffold.example and _write_lock(dest / scaffold.manifest):
        written.append("models.lock")
    for rel in written:
        print(f"  create {rel}")
    print(f"\nscaffolded {dest} ({len(written)} files). Next:\n"
          f"  cd {dest}\n"
          "  git init -b main && git add -A && git commit -m 'triton-gitops init'\n"
          f"  triton-gitops lock {scaffold.manifest}      # after each change of a model's files\n"
          f"  triton-gitops validate {scaffold.manifest}\n"
          f"  triton-gitops sync {scaffold.manifest}          # writes the local target, build/model_repository\n"
          "  docker compose up -d && curl -fsS localhost:8000/v2/health/ready")
    return EXIT_OK

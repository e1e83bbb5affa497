"""`triton-gitops lint`: Triton's rules on existing config.pbtxt files or repositories."""
from __future__ import annotations

import sys

from compiler import triton_releases
from compiler.commands import EXIT_ERROR, EXIT_OK, show_notes
from compiler.console import plural, report_problems
from compiler.errors import FatalError
from compiler.lint import configs_found, lint_paths

KINDS = ("backends", "repository_agents", "batch_strategies")


def _server(options) -> dict:
    """What the serving host has installed: the options, plus a manifest's `server:` block."""
    server = {kind: set(getattr(options, kind, None) or ()) for kind in KINDS}
    if getattr(options, "manifest", None):
        for kind, names in _manifest_server(options.manifest).items():
            server[kind] |= names
    return server


def _manifest_server(path) -> dict:
    from compiler.manifest.yaml_source import load_bytes  # noqa: PLC0415 - yaml_source + PyYAML ~40 ms: only with --manifest

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise FatalError(f"--manifest {path}: cannot read it: {exc.strerror or exc}")
    document = load_bytes(raw, str(path))
    block = document.data.get("server") if isinstance(document.data, dict) else None
    if document.problems or not isinstance(block, (dict, type(None))):
        raise FatalError(f"--manifest {path}: not a readable manifest with a `server:` mapping",
                         f"check it with `triton-gitops validate {path}`")
    out = {}
    for kind in KINDS:
        names = (block or {}).get(kind) or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise FatalError(f"--manifest {path}: server.{kind} must be a list of names",
                             f"check it with `triton-gitops validate {path}`")
        out[kind] = set(names)
    return out


def run(options) -> int:
    release = None
    if getattr(options, "triton", None):
        release, why = triton_releases.parse(options.triton)
        if release is None:
            raise FatalError(f"--triton: {why}")
    paths = [str(p) for p in options.paths]
    notes: list = []
    problems = lint_paths(paths, triton=release, server=_server(options), notes=notes)
    show_notes(notes)
    errors = sum(p.is_error for p in problems)
    report_problems(problems, options.output, summary_label="lint" if errors else "")
    if errors:
        return EXIT_ERROR
    configs = len(configs_found(paths))
    if not configs:  # a wrong path in a CI step must not pass as "all good"
        print(f"lint: found no Triton configuration (config.pbtxt, or *.pbtxt files) in {' '.join(paths)}",
              file=sys.stderr)
        return EXIT_ERROR
    if options.output == "text":
        warnings = f", {plural(len(problems), 'warning')}" if problems else ""
        print(f"lint: OK ({plural(configs, 'config')} in {plural(len(paths), 'path')}{warnings})")
    return EXIT_OK

"""`triton-gitops lint`: Triton's rules on existing config.pbtxt files or repositories."""
from __future__ import annotations

from compiler.commands import EXIT_ERROR, EXIT_OK
from compiler.errors import FatalError
from compiler.report import plural, report_problems


KINDS = ("backends", "repository_agents", "batch_strategies")


def _server(options) -> dict:
    """What the serving host has installed: the options, plus a manifest's `server:` block."""
    server = {kind: set(getattr(options, kind, None) or ()) for kind in KINDS}
    if getattr(options, "manifest", None):
        for kind, names in _manifest_server(options.manifest).items():
            server[kind] |= names
    return server


def _manifest_server(path) -> dict:
    from compiler.manifest.yaml_source import load_bytes

    try:
        raw = open(path, "rb").read()
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
    from compiler import triton_releases
    from compiler.lint import lint_paths

    release = None
    if getattr(options, "triton", None):
        release, why = triton_releases.parse(options.triton)
        if release is None:
            raise FatalError(f"--triton: {why}")
    problems = lint_paths([str(p) for p in options.paths], triton=release, server=_server(options))
    report_problems(problems, options.output, summary_label="lint")
    if any(p.is_error for p in problems):
        return EXIT_ERROR
    if options.output == "text":
        print(f"lint: OK ({plural(len(options.paths), 'path')})")
    return EXIT_OK

"""`triton-gitops import-analyzer PATH --model NAME`: take Model Analyzer's best config
for a model into models.yaml, with the measured figures in a `tuning:` block.

    triton-gitops import-analyzer analysis/ --model bert --max-p99-ms 20          # show the diff
    triton-gitops import-analyzer analysis/ --model bert --config 3 --write       # apply config_3

Reads (compiler/analyzer/results.py), chooses (choose.py), compares and edits the text
(change.py, yamledit.py); the edited manifest must pass `validate` before anything is
written, and it is written whole (a temporary file renamed over the old one).
"""
from __future__ import annotations

import difflib
import os
import sys
import tempfile
from pathlib import Path

from compiler.analyzer.change import apply, field_changes
from compiler.analyzer.choose import OBJECTIVES, choose, constraints_from
from compiler.analyzer.results import open_results
from compiler.analyzer.tuning import tuning_block
from compiler.commands import EXIT_OK, run_settings, show_notes
from compiler.console import json_text, paint, plural, report_problems, use_colour
from compiler.errors import FatalError, printable
from compiler.importer import write_text_atomic
from compiler.manifest import load_manifest

_MAX_PROBLEMS = 5


def _load_manifest(path: Path, model: str, policy):
    loaded = load_manifest(path, policy=policy)
    show_notes(loaded.notes)
    if not loaded.ok:
        report_problems(loaded.problems, "text", stream=sys.stderr)
        raise FatalError(f"{path}: does not validate; fix it first", "triton-gitops validate " + str(path))
    models = loaded.document.data.get("models") or {}
    if model not in models:
        raise FatalError(f"{path}: no model {model!r} (models: {', '.join(sorted(models)) or 'none'})",
                         "add the model first (e.g. `triton-gitops import`), or check --model")
    return loaded


def _cross_check(results, choice, config) -> None:
    """The CSV names a config folder by variant name only; a folder left from another run
    would be imported under these figures. Its max_batch_size must be the CSV's."""
    listed = choice.measurement.max_batch_size
    if listed is not None and listed != config.max_batch_size:
        raise FatalError(f"{choice.measurement.where}: {choice.config} was measured with max_batch_size {listed}, "
                         f"but its config.pbtxt says {config.max_batch_size}",
                         "the output model repository is from another run; pass the right one with --configs")


def _validated(path: Path, text: str, policy, shown: list) -> None:
    """Write `text` beside the manifest (so relative sources resolve as they will) and
    validate it; raise with the first problems if it does not pass. Its notes of a kind not
    `shown` already (the manifest's as it was) are shown."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise FatalError(f"{path.parent}: cannot write a file beside the manifest to validate it: "
                         f"{exc.strerror or exc}")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        loaded = load_manifest(temporary, display=str(path), policy=policy)
    finally:
        Path(temporary).unlink(missing_ok=True)
    show_notes(loaded.notes, already=shown)
    errors = [p for p in loaded.problems if p.is_error]
    if errors:
        report_problems(errors[:_MAX_PROBLEMS], "text", stream=sys.stderr)
        raise FatalError(f"{path}: with this config the manifest would not validate "
                         f"({plural(len(errors), 'error')}); nothing written",
                         "pick another config (--config), or fix the model entry first")


def _write(path: Path, text: str) -> None:
    path = path.resolve()  # a symlinked manifest stays a symlink; its target is replaced
    try:
        mode = path.stat().st_mode & 0o777
        write_text_atomic(path, text)
        os.chmod(path, mode)
    except OSError as exc:
        raise FatalError(f"{path}: cannot write: {exc.strerror or exc}")


def _figures(m) -> str:
    parts = [f"{m.throughput:g} infer/s", f"p99 {m.p99_ms:g} ms"]
    if m.gpu_memory_mb is not None:
        parts.append(f"GPU memory {m.gpu_memory_mb:g} MB")
    return ", ".join(parts)


def _summary(results, choice, change) -> list:
    why = "named with --config" if choice.named else OBJECTIVES[choice.objective][1]
    lines = [f"read {results.path} (Model Analyzer {'results CSV' if results.kind == 'csv' else 'checkpoint'})",
             (f"{choice.model}: {choice.config} ({why}; {choice.passed} of "
              f"{plural(choice.considered, 'measurement')} of {plural(choice.configs, 'config')} meet the constraints)"),
             f"  measured at {choice.measurement.load()}: {_figures(choice.measurement)}"]
    for text, count in choice.eliminated.items():
        if count:
            lines.append(f"  {text} eliminated {count}")
    for item in change.changes:
        note = " (was inherited from defaults:)" if item.inherited else ""
        note += "" if item.searched else " (not a field Model Analyzer's automatic search sets: check it)"
        lines.append(f"  changes {item.key}{note}")
    if not change.changes:
        lines.append("  the model's fields already match this config; only the tuning block changes")
    for key, why_kept in change.kept:
        lines.append(f"  differs but kept: {key}: {why_kept}")
    return lines


def _diff(path: Path, before: str, after: str, colour: bool, terminal: bool = True) -> str:
    lines = []
    for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"{path}", f"{path}"):
        line = line.rstrip("\r\n")
        if terminal:  # the manifest's text reaches a terminal or a CI log: printable() per line
            line = printable(line)
        tint = "create" if line.startswith("+") and not line.startswith("+++") else \
            "delete" if line.startswith("-") and not line.startswith("---") else ""
        lines.append((paint(line, tint, colour) if tint else line) + "\n")
    return "".join(lines)


def run(options) -> int:
    for option, value in (("--max-p99-ms", options.max_p99_ms), ("--min-throughput", options.min_throughput),
                          ("--max-gpu-memory-mb", options.max_gpu_memory_mb)):
        if value is not None and not value >= 0:
            raise FatalError(f"{option} {value}: must be a number at least 0")
    manifest = Path(options.manifest)
    policy = run_settings(options).policy  # the storage policy the manifest is checked against
    loaded = _load_manifest(manifest, options.model, policy)
    results = open_results(options.path, Path(options.configs) if options.configs else None)
    constraints = constraints_from(options.max_p99_ms, options.min_throughput, options.max_gpu_memory_mb)
    choice = choose(results, options.model, options.objective, constraints, options.config or "")
    config = results.read_config(options.model, choice.config)
    _cross_check(results, choice, config)
    data = loaded.document.data
    change = field_changes(data, options.model, config)
    before = manifest.read_text(encoding="utf-8")
    tuning = tuning_block(choice, results)
    after = apply(before, data, change, tuning, str(manifest))
    _validated(manifest, after, policy, loaded.notes)
    if options.write:
        _write(manifest, after)
    if options.output == "json":
        print(json_text({"model": options.model, "source": {"kind": results.kind, "path": str(results.path)},
                   "config": choice.config, "objective": choice.objective, "named": choice.named,
                   "measurements": choice.considered, "passing": choice.passed, "eliminated": choice.eliminated,
                   "tuning": tuning,
                   "changes": [{"field": c.key, "before": c.before, "after": c.after, "inherited": c.inherited,
                                "searched": c.searched} for c in change.changes],
                   "kept": [{"field": k, "why": why} for k, why in change.kept],
                   "diff": _diff(manifest, before, after, False, terminal=False), "written": bool(options.write)}, indent=2))
        return EXIT_OK
    colour = use_colour(sys.stdout)
    print("\n".join(printable(line) for line in _summary(results, choice, change)))
    print()
    sys.stdout.write(_diff(manifest, before, after, colour))
    print()
    if options.write:
        print(f"wrote {printable(str(manifest))}: models.{printable(options.model)} ({plural(len(change.changes), 'field')} and tuning); "
              "it validates")
    else:
        print(f"the result validates; nothing written (add --write to apply it to {printable(str(manifest))})")
    return EXIT_OK

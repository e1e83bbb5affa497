"""Reporting, done once at the end of a command: problems as text or JSON, sizes, colour."""
from __future__ import annotations

import json
import os
import sys

from compiler.errors import format_path, printable

_COLOURS = {"error": "31", "warning": "33", "create": "32", "update": "33", "delete": "31", "bold": "1", "dim": "2"}


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


def paint(text: str, colour: str, enabled: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if enabled and colour in _COLOURS else text


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def problem_line(problem, colour: bool) -> str:
    file = printable(problem.file)  # a file name from the manifest or a source folder
    if not file:
        where = "<input>"
    elif problem.line:
        where = f"{file}:{problem.line}:{problem.column}"
    else:  # a whole file or folder, no position inside it
        where = file
    path = format_path(problem.path)
    text = f"{where}: {paint(problem.severity, problem.severity, colour)}: "
    text += f"{path}: " if path else ""
    text += f"{problem.message} [{problem.rule}]"
    if problem.hint:
        text += f"\n    hint: {problem.hint}"
    return text


def json_text(data, **options) -> str:
    """`json.dumps` for what a command prints: `##[` inside a value is written `#\\u0023[` (the
    same string to any JSON reader), because the GitHub runner obeys `##[command]` anywhere
    in a log line. JSON has no `#` outside strings and no escape containing one."""
    return json.dumps(data, **options).replace("##[", "#\\u0023[")


def report_problems(problems, output: str, stream=None, summary_label: str = "") -> None:
    stream = stream or sys.stdout
    ordered = sorted(problems, key=lambda p: p.sort_key())
    if output == "json":
        errors = sum(p.is_error for p in ordered)
        stream.write(json_text({"problems": [p.as_dict() for p in ordered], "errors": errors,
                                "warnings": len(ordered) - errors}, indent=2))
        stream.write("\n")
        return
    colour = use_colour(stream)
    for problem in ordered:
        stream.write(problem_line(problem, colour) + "\n")
    if summary_label:
        errors = sum(p.is_error for p in ordered)
        warnings = len(ordered) - errors
        if errors or warnings:
            stream.write(f"{summary_label}: {plural(errors, 'error')}, {plural(warnings, 'warning')}\n")

"""The one fatal error type, and the located problem record every stage reports.

Stages collect `Problem`s instead of raising, so a run reports everything at once.
`FatalError` is for what stops a command outright (unreadable file, unreachable
target); the CLI's single handler turns it into a message and exit code 1.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

PathPart = Union[str, int]
Path = tuple  # tuple[PathPart, ...]: keys and list indexes from the document root

ERROR = "error"
WARNING = "warning"


def _rebuilt(cls, args: tuple):
    """An exception of `cls` holding `args`, its __init__ not called: pickle restores its
    attributes next (Picklable)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    return exc


class Picklable:
    """Mixed into an exception type whose __init__ takes other arguments than the message it
    keeps in `args`: pickle's default (calling the type with `args`) would then fail on the
    way back. Such an exception crosses a pipe when the prefetch helper hands back what its
    run raised (compiler/fastpath/handover.py): it is rebuilt from `args` and its attributes,
    whatever a subclass's __init__ asks for, and comes back as it left (type, message,
    attributes; not its traceback or cause)."""

    args: tuple

    def __reduce__(self):
        return (_rebuilt, (type(self), self.args), dict(self.__dict__))


class FatalError(Picklable, Exception):
    """Stops the command: reported as `triton-gitops: error: <message>`, exit 1 (the one
    handler in cli.py; a FatalError carries no exit code of its own)."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


MAX_MESSAGE = 2000
MAX_PATH_PART = 80


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """Hostile input can put megabytes into a key or value; reports quote at most `limit`
    characters (the marker included)."""
    marker = "... (truncated)"
    if len(text) <= limit:
        return text
    return text[: max(limit - len(marker), 0)] + marker if limit > len(marker) else text[:limit]


def printable(text: str) -> str:
    """Control and bidi characters from the manifest must not reach a terminal or a CI log,
    where they could move the cursor or forge a line such as `::error::`. They are written
    as visible escapes (`\\r`, `\\x1b`, `\\u202e`). The GitHub runner also obeys `##[command]`
    anywhere in a line and `::command::` at its start: those get an escaped character too
    (`#\\x23[`, `\\x3a:`), so a name can never become a workflow command."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    if "##[" in text:
        text = text.replace("##[", "#\\x23[")
    stripped = text.lstrip()
    if stripped.startswith("::"):
        text = text[: len(text) - len(stripped)] + "\\x3a" + stripped[1:]
    return text


def format_path(path: Iterable[PathPart]) -> str:
    """('models', 'm', 'input', 0, 'dims') -> 'models.m.input[0].dims'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = clip(printable(str(part)), MAX_PATH_PART)
            if out and (not text or any(c in text for c in ".[] ")):
                out += f"[{text!r}]"
            else:
                out += ("." if out else "") + text
    return out


@dataclass
class Problem:
    """One finding. `path` is where in the document; `line`/`column` are 1-based, 0 if unknown."""

    message: str
    rule: str
    path: Path = ()
    severity: str = ERROR
    file: str = ""
    line: int = 0
    column: int = 0
    hint: str = ""

    def __post_init__(self):
        self.message = clip(printable(self.message), MAX_MESSAGE)
        self.hint = clip(printable(self.hint), MAX_MESSAGE)

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def at(self, file: str, line: int, column: int) -> Problem:
        self.file, self.line, self.column = file, line, column
        return self

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self):
        return (self.file, self.line, self.column, format_path(self.path), self.message)

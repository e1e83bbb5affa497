"""One config file: read, parse with protobuf's text_format (the authority on syntax), locate
every field with the scanner, and turn parse failures into located problems."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from google.protobuf import text_format

from compiler.errors import Problem, clip
from compiler.lint.pbtxt import Positions, ScanError, positions
from compiler.proto import ModelConfig
from compiler.rules.base import suggest

MAX_BYTES = 4 * 1024 * 1024  # real configs are kilobytes; protobuf parses ~250k values a second
_LOCATION = re.compile(r"^\s*(\d+):(\d+)\s*:\s*")
_TEMPLATE_LINE = re.compile(r"\$\{|\$[A-Za-z_]|[A-Za-z_]#[A-Za-z_]|:\s*#")
_TEMPLATE_VALUE = re.compile(r"(?:integer|float|value)[^:]*:\s*\$?[A-Z_][A-Z0-9_]*\b")


@dataclass
class ConfigFile:
    file: str
    text: str = ""
    config: Optional[ModelConfig] = None
    positions: Positions = field(default_factory=Positions)
    problems: list = field(default_factory=list)

    def place(self, problem: Problem) -> Problem:
        line, column = self.positions.locate(problem.path)
        return problem.at(self.file, line, column)


def _problem(cf: ConfigFile, message, rule, line=1, column=1, hint="", path=()) -> None:
    cf.problems.append(Problem(clip(message), rule, tuple(path), hint=clip(hint)).at(cf.file, line or 1, column or 1))


def _decode(raw: bytes, cf: ConfigFile) -> Optional[str]:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        _problem(cf, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})", "pbtxt-encoding", line, column,
                 hint="save the file as UTF-8")
        return None


def _parse_error(cf: ConfigFile, exc: text_format.ParseError) -> None:
    message = str(exc)
    match = _LOCATION.match(message)
    line = exc.GetLine() if hasattr(exc, "GetLine") else None
    column = exc.GetColumn() if hasattr(exc, "GetColumn") else None
    if match:
        line, column = line or int(match.group(1)), column or int(match.group(2))
        message = message[match.end():]
    if "has no field named" in message:
        try:
            found = positions(cf.text, ModelConfig.DESCRIPTOR).unknown
        except ScanError:
            found = []
        for unknown in found:
            hint = suggest(unknown.name, unknown.known) or ("fields here: " + ", ".join(unknown.known[:15]))
            _problem(cf, f"unknown field '{unknown.name}' in {unknown.message_type}", "pbtxt-unknown-field",
                     unknown.line, unknown.column, hint=hint, path=unknown.path + (unknown.name,))
        if found:
            return
    hint = "Triton reads config.pbtxt as protobuf text format; fix the syntax at this position"
    lines = cf.text.splitlines()
    if "another member of oneof" in message:
        hint = "these fields exclude each other (one scheduler, one version policy, ...); keep only one"
    elif "should not have multiple" in message:
        hint = "a single field may be given once; remove the repetition"
    elif line and 0 < line <= len(lines) and (_TEMPLATE_LINE.search(lines[line - 1])
                                              or _TEMPLATE_VALUE.search(message)):
        hint = ("this line looks like an unrendered template (placeholder or '#' used as a template marker); "
                "render it before deploying")
    _problem(cf, f"config syntax: {message}", "pbtxt-syntax", line, column, hint=hint)


def load_config(file: str) -> ConfigFile:
    """Parse one config file; `config` is None when it cannot be read or parsed."""
    cf = ConfigFile(file)
    try:
        with open(file, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        _problem(cf, f"cannot read the file: {exc.strerror or exc}", "lint-read")
        return cf
    if len(raw) > MAX_BYTES:
        _problem(cf, f"file is larger than {MAX_BYTES:,} bytes; not a model configuration", "lint-read")
        return cf
    text = _decode(raw, cf)
    if text is None:
        return cf
    return parse_text(text, cf)


def parse_text(text: str, cf: ConfigFile) -> ConfigFile:
    cf.text = text
    try:
        cf.config = text_format.Parse(text, ModelConfig())
    except text_format.ParseError as exc:
        _parse_error(cf, exc)
        return cf
    try:
        cf.positions = positions(text, ModelConfig.DESCRIPTOR)
    except ScanError:
        cf.positions = Positions({(): (1, 1)})
    return cf

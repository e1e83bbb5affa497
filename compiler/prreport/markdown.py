"""Untrusted text made safe for each place it takes in the Markdown of a PR comment.

Everything a pull request controls (model and file names, config values, sources, problem
messages, plan errors) reaches the report; none of it may end a code span, a fence or a
table cell, open HTML (`<!--` would hide the rest of the comment), or forge a heading, a
list item or a link. One function per context; each first applies `compiler.errors.printable`
so control and bidi characters (CR, ESC, U+202E) arrive as visible escapes, and a value is
always one line except inside a fence:

    code("a``b")        -> "```a``b```"       an inline code span (CommonMark: a longer backtick run)
    code_cell("a|b")    -> "`a\\|b`"          the same, inside a GFM table row
    text("<b>*x*</b>")  -> "&lt;b&gt;&#42;x&#42;&lt;/b&gt;"   Markdown text: a paragraph, list item or cell
    html("a<b")         -> "a&lt;b"           inside raw HTML the template writes (`<summary>`)
    fence(body, "text") -> a fenced block whose fence is longer than any backtick run in `body`
                           (printable: no line of it starts with `::`, a workflow command in a CI log)

`storage`'s security section and any other part of the report use the same functions.
"""
from __future__ import annotations

import html as _html
import re

from compiler.errors import printable

_BACKTICKS = re.compile(r"`+")
# Characters that carry Markdown meaning anywhere in a line (emphasis, code, links, table
# cells, strikethrough, escapes) become numeric character references: a reference is always
# literal text, never structure, and unlike a backslash escape it cannot pair with another
# backslash (GitHub's and markdown-it's table splitters disagree about `\\|`).
_INLINE = re.compile(r"[\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # `_` inside a word is no emphasis
# What GitHub's renderer turns into a link in plain text (its autolink extension looks for
# `://` and `www.` in the source): written as references, they stay text. (An e-mail address
# is still linked, as `mailto:` and the address itself: it shows where it goes.)
_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)
# What can turn the start of a line into a block: heading, quote, list, setext underline,
# ordered list `1.` / `1)`.
_BLOCK_START = re.compile(r"^(\s*)(\d*)([#>+\-=.)])")


def one_line(value) -> str:
    """`value` as one printable line: newlines and control characters as visible escapes."""
    return printable("" if value is None else str(value))


def _longest_run(text: str) -> int:
    return max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)


def code(value) -> str:
    """An inline code span holding `value` verbatim (CommonMark 6.1): the delimiter is one
    backtick longer than the longest run inside, and a space pads a value that starts or
    ends with a backtick, or starts and ends with a space (the renderer strips exactly one
    on each side then, unless the value is all spaces)."""
    text = one_line(value)
    if not text:
        return ""
    ticks = "`" * (_longest_run(text) + 1)
    stripped = text[0] == text[-1] == " " and text.strip(" ")  # the renderer would drop one space each side
    pad = " " if "`" in (text[0], text[-1]) or stripped else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_cell(value) -> str:
    """`code` inside a GFM table row: the row is split on `|` before code spans are seen,
    so every pipe is escaped (the renderer turns `\\|` back into `|` inside the span). A
    backslash right before a pipe cannot be written so that every renderer agrees; such a
    value is shown as `text` instead."""
    line = one_line(value)
    if "\\|" in line:
        return text(line)
    return code(line).replace("|", "\\|")


def _ref(char: str) -> str:
    return f"&#{ord(char)};"


def text(value) -> str:
    """Plain Markdown text (a paragraph, a list item, a table cell): HTML-escaped, every
    inline Markdown character written as a character reference, and a line start that
    would make a heading, quote or list, or a URL GitHub would link, neutralised the same way."""
    line = _html.escape(one_line(value), quote=False)
    line = _INLINE.sub(lambda m: _ref(m.group(0)), line)
    line = _AUTOLINK.sub(lambda m: _ref(m.group(0)), line)
    return _BLOCK_START.sub(lambda m: m.group(1) + m.group(2) + _ref(m.group(3)), line)


def html(value) -> str:
    """Text inside an HTML element the template writes (`<summary>...</summary>`): a raw
    HTML block is not Markdown, so only HTML escaping applies."""
    return _html.escape(one_line(value), quote=True)


def fence(body, info: str = "text") -> str:
    """A fenced code block holding `body` (several lines) verbatim: each line made
    printable, and a backtick fence longer than any backtick run in it, so no line of
    `body` can close it."""
    # Lines end at "\n" only: a CR, U+2028 and the like stay inside their line, escaped.
    lines = [printable(line) for line in str(body or "").replace("\r\n", "\n").rstrip("\n").split("\n")]
    ticks = "`" * max(3, _longest_run("\n".join(lines)) + 1)
    return "\n".join([ticks + info, *lines, ticks])

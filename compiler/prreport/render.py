"""The PR report as Markdown, rendered by Jinja2 from `templates/report/`.

The first line is a hidden marker (`<!-- triton-gitops:plan -->`) by which the workflow
finds its own PR comment to update instead of posting another. A report longer than a
PR comment may be (65,536 characters) keeps as many model sections as fit and says how
many were left out; the job summary always gets the full text.

Every value from the manifest, the models or the plan files reaches the Markdown through
one of the filters of `compiler.prreport.markdown` chosen for its place (`code`,
`code_cell`, `text`, `html`, `fence`); a template never prints such a value bare.
"""
from __future__ import annotations

from compiler import __version__
from compiler.console import human_size
from compiler.prreport import markdown
from compiler.prreport.configdiff import MISSING, format_value
from compiler.resources import templates_root

MARKER = "<!-- triton-gitops:plan -->"
COMMENT_LIMIT = 65_000
MAX_FILES = 50  # changed files listed at the end  # GitHub's limit is 65,536 characters; leave room for the note


def _value(value) -> str:
    return "" if value is MISSING else markdown.code_cell(format_value(value))


def _short(sha: str, length: int = 12) -> str:
    return sha[:length] if sha else ""


def environment():
    import jinja2  # noqa: PLC0415 - jinja2 ~33 ms: drift --summary and targets --github-output load prreport without rendering

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_root() / "report")),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(code=markdown.code, code_cell=markdown.code_cell, text=markdown.text, html=markdown.html,
                       fence=markdown.fence, value=_value, short=_short, size=human_size)
    return env


def render_markdown(report, limit: int | None = None) -> str:
    """The report; with `limit`, at most that many characters (whole model sections dropped)."""
    template = environment().get_template("pr_report.md.j2")
    shown = [m for m in report.models if m.status != "unchanged"]
    problems = sorted(report.problems, key=lambda p: p.sort_key())

    def render(count: int) -> str:
        return template.render(report=report, counts=report.counts(), shown=shown[:count], problems=problems,
                               omitted=len(shown) - count, marker=MARKER, max_files=MAX_FILES,
                               version=__version__)

    text = render(len(shown))
    if limit is None or len(text) <= limit:
        return text
    low, high = 0, len(shown)  # the largest count that fits
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    text = render(low)
    return text if len(text) <= limit else text[: limit - 40].rsplit("\n", 1)[0] + "\n\n_(report cut)_\n"

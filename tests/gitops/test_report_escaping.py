"""A PR cannot forge its plan comment: hostile text everywhere, parsed by CommonMark renderers.

Every string a pull request controls (model, input and file names, config values, sources,
problem messages, plan errors, target names) is filled with what would end a fence, a code
span or a table cell, open HTML (`<!--` hides the rest of a comment), or write control and
bidi characters. The report is parsed with markdown-it-py (CommonMark plus GFM tables) and
rendered by cmark-gfm (GitHub's own renderer, raw HTML let through so that any would show);
it must keep every model, change and message visible as text, with no HTML from input.
"""
from __future__ import annotations

import html.parser
import json
import re

import pytest

from compiler.errors import WARNING, Problem, printable
from compiler.prreport import markdown
from compiler.prreport.configdiff import MISSING, FieldChange, format_value
from compiler.prreport.plans import read_plan
from compiler.prreport.render import MARKER, render_markdown
from compiler.prreport.report_data import ADDED, CHANGED, REMOVED, ModelReport, Report
from tests.gitops.test_report import check_golden

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py is in the test extras")

HOSTILE = [
    "```", "~~~", "<!-- the rest is hidden", "--> </details>", "</summary></details><details open>",
    "a|b", "pipe\\|escaped", "ends with a backslash\\", "<img src=x onerror=alert(1)>", "<script>x</script>",
    "``double`` ticks", "`", "` lead", "trail `", " ", "x\r::error::forged", "\n::warning::new line",
    "\x1b[31mred\x1b[0m", "\u202egnp.exe", "\u2028sep", "# heading", "- item", "1. item", "> quote",
    "*em* _em_ **strong** ~~gone~~", "[link](https://example.invalid)", "![img](https://example.invalid/x.png)",
    "&lt;entity&gt; &amp;", "===", "<https://example.invalid>", "\\`escaped tick", "see www.example.invalid",
    "mail to someone@example.invalid", "bare https://example.invalid/x link", "##[warning]legacy command",
    "::error::at the start",
]

ALLOWED_HTML = [re.compile(p) for p in (
    re.escape(MARKER), r"<details><summary>[^<>]*</summary>", r"</details>", r"<sub>", r"</sub>")]


def hostile_report() -> Report:
    report = Report("models.yaml", "main", base_sha="0" * 40)
    report.models = []
    for index, name in enumerate(HOSTILE):
        status = (ADDED, CHANGED, REMOVED)[index % 3]
        model = ModelReport(f"m{index}{name}", status)
        if status == CHANGED:
            model.config_changes = [FieldChange(f"input[{name}].dims", [1], [2]),
                                    FieldChange("parameters.p.string_value", name, f"new {name}"),
                                    FieldChange(f"label{name}", MISSING, {name: name})]
            model.files = [{"path": f"labels{name}.txt", "status": CHANGED, "sha256": "a" * 64,
                            "old_sha256": "b" * 64, "size": 3}]
            model.versions = [{"version": 1, "status": CHANGED, "sha256": "c" * 64, "old_sha256": "d" * 64,
                               "files": 1, "source": f"models/{name}/1"}]
        elif status == ADDED:
            model.config_text = f'name: "{name}"\nparameters {{ key: "{name}" }}\n{name}\n'
            model.versions = [{"version": 1, "status": ADDED, "sha256": "e" * 64, "old_sha256": "",
                               "files": 1, "source": name}]
        report.models.append(model)
    every = ModelReport("every", CHANGED)  # each hostile string in each kind of table cell
    every.config_changes = [FieldChange(f"input[{name}]", name, [name]) for name in HOSTILE]
    every.files = [{"path": f"extra/{name}", "status": ADDED, "sha256": "f" * 64, "old_sha256": "", "size": 1}
                   for name in HOSTILE]
    every.versions = [{"version": n + 1, "status": CHANGED, "sha256": "1" * 64, "old_sha256": "2" * 64, "files": 1,
                       "source": name} for n, name in enumerate(HOSTILE)]
    report.models.append(every)
    report.problems = [Problem(f"message {name}", f"rule{name}", ("models", name), WARNING, file=f"f{name}.yaml",
                               line=1, column=2, hint=f"hint {name}") for name in HOSTILE]
    changes = [{"action": "create", "path": f"m1{name}/1/model.py", "model": f"m1{name}"} for name in HOSTILE]
    report.targets = [read_plan("prod", json.dumps({"changes": changes, "state_damaged": HOSTILE[0]}), 2),
                      read_plan(f"eu{HOSTILE[4]}", "", 1, "\n".join(HOSTILE)),
                      read_plan("ap", "", 1, "error: ```\n::error::forged in a fence\n<!-- after this, nothing shows\n")]
    report.target_changes = [{"name": f"t{name}", "status": ADDED, "url": f"s3://b/{name}", "old_url": ""}
                             for name in HOSTILE[:6]]
    report.changed_files = [f"models/{name}" for name in HOSTILE]
    return report


def shown(body: str) -> str:
    """What a fence must show of `body`: each line printable (a leading `::` as `\\x3a:`)."""
    return "\n".join(printable(line) for line in body.split("\n")) + "\n"


def parse(text: str) -> list:
    md = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    return md.parse(text)


def walk(tokens):
    for token in tokens:
        yield token
        yield from walk(token.children or [])


def inline_texts(tokens) -> list:
    """The visible text of every inline run (entities decoded, code spans verbatim)."""
    out = []
    for token in tokens:
        if token.type == "inline":
            out.append("".join(c.content for c in token.children if c.type in ("text", "code_inline", "softbreak")))
    return out


def test_hostile_text_stays_text_and_every_section_stays_visible():
    report = hostile_report()
    text = render_markdown(report)
    tokens = parse(text)
    html = [t.content.strip() for t in walk(tokens) if t.type in ("html_block", "html_inline")]
    for node in html:
        for line in node.splitlines():
            assert any(p.fullmatch(line) for p in ALLOWED_HTML), f"HTML from input: {line!r}"
    # one per plan error, per added model's config.pbtxt, and the changed files: none closed early
    details = sum(bool(t.error) for t in report.targets) + sum(bool(m.config_text) for m in report.models) + 1
    assert html.count("</details>") == details == sum(h.startswith("<details>") for h in html)
    assert not any(t.type in ("link_open", "image") for t in walk(tokens))
    for char in "\r\x1b\u202e\u2028":
        assert char not in text
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())
    assert "##[" not in text  # the runner obeys `##[command]` anywhere in a line

    headings = [inline_texts([tokens[i + 1]])[0] for i, t in enumerate(tokens) if t.type == "heading_open"
                and t.tag == "h3"]
    for model in report.models:
        assert sum(printable(model.name) in h for h in headings) >= 1, model.name
    assert len([h for h in headings if h.startswith(("➕", "➖", "✏️"))]) == len(report.models)

    texts = inline_texts(tokens)
    joined = "\n".join(texts)
    for model in report.models:
        for change in model.config_changes:
            assert printable(change.path) in texts, change.path  # its own table cell, whole
        for version in model.versions:
            assert printable(version["source"]) in texts, version["source"]
        for extra in model.extra_files:
            assert printable(extra["path"]) in texts
    for problem in report.problems:
        assert printable(problem.message).strip() in joined and printable(problem.hint).strip() in joined
    for change in report.target_changes:
        assert f"➕ target {printable(change['name'])} added: {printable(change['url'])}" in texts
    for path in report.changed_files:
        assert printable(path) in texts
    fences = [t for t in walk(tokens) if t.type == "fence"]
    errors = [t.content for t in fences if t.info == "text"]
    assert errors == [shown(plan.error) for plan in report.targets if plan.error]
    configs = [t.content for t in fences if t.info == "protobuf"]
    assert configs == [shown(m.config_text.strip()) for m in report.models if m.config_text]
    assert texts[-1].startswith("triton-gitops ")  # the footer: nothing after an input was swallowed
    check_golden("pr_report_hostile.md", text)  # for review: what the escaping looks like


def test_each_table_row_keeps_its_cells():
    """A renderer drops a row's extra cells silently, so count them in the source: every
    row of a table has as many unescaped pipes as its header (GFM splits on no other)."""
    text = render_markdown(hostile_report())
    tables, current = [], []
    for line in text.split("\n"):
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) > 10
    for table in tables:
        counts = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
        assert len(counts) == 1, "\n".join(table)
        assert not any("\\\\|" in line for line in table)  # `\\|` splits differently per renderer
    tokens = parse(text)
    texts = inline_texts(tokens)
    for model in hostile_report().models:
        for change in model.config_changes:
            for value in (change.before, change.after):
                if value is not MISSING:
                    assert printable(format_value(value)) in texts, value


@pytest.mark.parametrize("value", HOSTILE + ["plain", "a`b", "a``b```c", "|", "\\|", "x\\"])
def test_each_filter_round_trips_through_commonmark(value):
    seen = printable(value)
    para = parse(f"x {markdown.code(value)} y\n")
    if seen.strip():
        assert inline_texts(para) == [f"x {seen} y"]
    cell = parse(f"| a | b |\n| --- | --- |\n| {markdown.code_cell(value)} | z |\n")
    row = [t for t in walk(cell) if t.type == "inline"][-2:]
    assert inline_texts(row)[0].strip() == seen.strip() and inline_texts(row)[1] == "z"
    plain = parse(f"- {markdown.text(value)}\n")
    if seen.strip():
        assert [t.type for t in plain][:3] == ["bullet_list_open", "list_item_open", "paragraph_open"]
        assert inline_texts(plain) == [seen.strip()]
    assert not any(t.type in ("html_inline", "html_block", "link_open", "image", "em_open", "s_open")
                   for t in walk(plain))
    body = f"{value}\nsecond ```` line\n"
    fenced = parse(markdown.fence(body) + "\nafter\n")
    assert fenced[0].type == "fence" and fenced[0].content == shown(body.rstrip("\n"))
    assert inline_texts(fenced) == ["after"]
    assert not any(line.lstrip().startswith("::") for line in markdown.fence(body).split("\n"))


class _Html(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.comments, self.text, self.links, self._href = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), ""

    def handle_endtag(self, tag):
        if tag == "a":
            self.links.append((self._href, self._link_text))
            self._href = None

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_data(self, data):
        self.text.append(data)
        if self._href is not None:
            self._link_text += data


# What the template itself writes, rendered.
TEMPLATE_TAGS = {"h2", "h3", "p", "code", "strong", "em", "table", "thead", "tbody", "tr", "th", "td", "ul", "li",
                 "pre", "details", "summary", "sub"}


def test_githubs_renderer_shows_every_model_and_no_html_from_input():
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm is in the test extras")
    from cmarkgfm.cmark import Options

    report = hostile_report()
    # tagfilter left out on purpose: it would hide raw HTML the report let through.
    rendered = cmarkgfm.markdown_to_html_with_extensions(
        render_markdown(report), options=Options.CMARK_OPT_UNSAFE, extensions=["table", "strikethrough", "autolink"])
    page = _Html()
    page.feed(rendered)
    assert set(page.tags) <= TEMPLATE_TAGS | {"a"}, set(page.tags) - TEMPLATE_TAGS
    assert page.comments == [MARKER[4:-3]]
    assert page.tags.count("details") == page.tags.count("summary") == rendered.count("</details>")
    # No link from input: not even GitHub's autolink of a URL in a message. An e-mail address
    # alone is linked by GitHub whatever the escaping; that link shows exactly where it goes.
    assert page.links and all(href == f"mailto:{text}" for href, text in page.links), page.links
    text = "".join(page.text)
    for model in report.models:
        assert printable(model.name).strip() in text, model.name
        for change in model.config_changes:
            assert printable(change.path) in text
    for problem in report.problems:
        assert printable(problem.message).strip() in text
    for char in RAW_CHARS:
        assert char not in rendered
    assert text.rstrip().endswith("1 error")  # the footer is there: nothing after an input was swallowed


RAW_CHARS = "\r\x1b\u202e\u2028"

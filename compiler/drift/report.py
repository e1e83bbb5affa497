"""The drift report in Markdown: the body of the one issue, and what `drift` prints.

Text from outside reaches it (file names listed on the storage, model names and messages a
server returns, error messages quoting URLs): every such value goes through one of the
filters of `compiler.prreport.markdown`, chosen for its place, as in the PR report; Triton's
multi-line reasons go into fences. The first line is the hidden marker by which the issue
is found again (with its author: compiler/drift/issue.py).
"""
from __future__ import annotations

from compiler import __version__
from compiler.console import plural
from compiler.prreport.markdown import code, code_cell, fence, text

MARKER = "<!-- triton-gitops:drift -->"
BODY_LIMIT = 65_000  # GitHub refuses an issue body over 65,536 characters
MAX_CHANGES = 30  # files listed per target
MAX_FINDING_LINES = 60  # lines of findings per server


def summary_line(checks: list) -> str:
    drifted = [c for c in checks if c.drifted]
    unknown = [c for c in checks if c.errors]
    if not drifted and not unknown:
        return f"Every target ({len(checks)}) holds what `main` says."
    parts = []
    if drifted:
        parts.append(f"**{len(drifted)} of {plural(len(checks), 'target')}** drifted from `main`")
    if unknown:
        parts.append(f"**{len(unknown)}** could not be checked")
    return "; ".join(parts) + "."


def title(checks: list) -> str:
    drifted = sum(c.drifted for c in checks)
    unknown = sum(bool(c.errors) and not c.drifted for c in checks)
    parts = [f"{drifted} of {plural(len(checks), 'target')} drifted"] if drifted else []
    if unknown:
        parts.append(f"{unknown} not checked")
    return "triton-gitops: drift from main (" + ", ".join(parts or ["in sync"]) + ")"


def _storage_cell(check) -> str:
    if check.storage_error:
        return "⚠️ not checked"
    if check.storage_drifted:
        count = len(check.plan.changes)
        return f"✏️ {plural(count, 'file')} {'differs' if count == 1 else 'differ'}"
    return "✅ in sync"


def _servers_cell(check) -> str:
    if check.servers_error:
        return "⚠️ not checked"
    if not check.servers:
        return "none listed"
    bad, unknown = len(check.servers_drifted), sum(bool(s.error) for s in check.servers)
    parts = [f"✏️ {bad} of {len(check.servers)} drifted"] if bad else []
    if unknown:
        parts.append(f"⚠️ {unknown} not reachable")
    return ", ".join(parts) or f"✅ {plural(len(check.servers), 'server')} in sync"


def _change_line(change) -> str:
    what = "changed by hand, dropped by the manifest (kept)" if change.drift else \
        "to delete with --prune" if change.skipped else f"to {change.action}"
    reason = f": {text(change.reason)}" if change.reason else ""
    return f"- {code(change.path)} {what}{reason}"


def _storage_section(check) -> list:
    lines = [f"**Storage** {code(check.url)}"]
    if check.storage_error:
        return lines + ["", f"Could not be read: {text(check.storage_error)}"]
    plan = check.plan
    if not check.storage_drifted:
        return lines + ["", "In sync."]
    lines.append("")
    lines += [_change_line(c) for c in plan.changes[:MAX_CHANGES]]
    if len(plan.changes) > MAX_CHANGES:
        lines.append(f"- and {len(plan.changes) - MAX_CHANGES} more (`triton-gitops plan --target` lists them all)")
    if plan.state_damaged:
        lines += ["", f"The sync state on the storage is {text(plan.state_damaged)}."]
    return lines


def _finding_lines(findings) -> list:
    lines = []
    for finding in findings:
        lines.append(f"{finding.model}: {finding.kind}: {finding.message}")
        for detail in finding.details:
            lines += ["    " + line for line in str(detail).strip().split("\n")]
    if len(lines) > MAX_FINDING_LINES:
        more = f"... and {len(lines) - MAX_FINDING_LINES} more lines (`triton-gitops status --target` shows them all)"
        lines = [*lines[:MAX_FINDING_LINES], more]
    return lines


def _servers_section(check) -> list:
    lines = ["**Servers**", ""]
    if check.servers_error:
        return lines + [f"Could not be named: {text(check.servers_error)}"]
    for server in check.servers:
        if server.error:
            lines.append(f"- {code(server.url)}: not reachable: {text(server.error)}")
        elif server.findings:
            models = len({f.model for f in server.findings})
            lines.append(f"- {code(server.url)}: {plural(len(server.findings), 'finding')} in "
                         f"{plural(models, 'model')}")
        else:
            lines.append(f"- {code(server.url)}: in sync")
    for server in check.servers_drifted:
        lines += ["", f"{code(server.url)}:", "", fence("\n".join(_finding_lines(server.findings)))]
    return lines


def _target_section(check, manifest_name: str) -> list:
    lines = ["", f"### {code(check.name)}", ""] + _storage_section(check)
    if check.servers or check.servers_error:
        lines += [""] + _servers_section(check)
    fixes = []
    if check.storage_drifted:
        fixes.append("storage: run the sync workflow, or "
                     + code(f"triton-gitops sync {manifest_name} --target {check.name}"))
    if check.servers_drifted:
        fixes.append("servers: " + code(f"triton-gitops rollout {manifest_name} --target {check.name}")
                     + " (EXPLICIT mode), or restart a POLL-mode server whose poller stopped (docs/fleet.md)")
    if fixes:
        lines += ["", "To fix: " + "; ".join(fixes) + "."]
    return lines


def render(checks: list, manifest_name: str, revision: str = "", when: str = "") -> str:
    """The report; at most BODY_LIMIT characters (target sections cut last first). `revision`
    (a commit SHA) and `when` are this run's own, not outside text."""
    head = [MARKER, "## Drift from `main`", "", summary_line(checks), ""]
    checked = f"Checked {code(manifest_name)}" + (f" at {code(revision[:12])}" if revision else "") + \
        (f" on {when}" if when else "") + "."
    head += [checked, "", "| Target | Storage | Servers |", "| --- | --- | --- |"]
    head += [f"| {code_cell(c.name)} | {_storage_cell(c)} | {_servers_cell(c)} |" for c in checks]
    sections = [_target_section(c, manifest_name) for c in checks if c.drifted or c.errors]
    footer = (f"<sub>Kept up to date by the scheduled `triton-gitops drift` workflow: updated while drift lasts, "
              f"closed once every target is back in sync. triton-gitops {__version__}</sub>")
    foot = ["", "---", footer, ""]
    shown = len(sections)
    while True:
        body = head + [line for section in sections[:shown] for line in section]
        if shown < len(sections):
            body += ["", (f"_{len(sections) - shown} more target section(s) left out: the report is too long; "
                          "`triton-gitops drift --no-issue` prints it whole._")]
        out = "\n".join(body + foot)
        if len(out) <= BODY_LIMIT or shown == 0:
            return out if len(out) <= BODY_LIMIT else out[:BODY_LIMIT - 40].rsplit("\n", 1)[0] + "\n\n_(cut)_\n"
        shown -= 1


def closing_comment(checks: list, revision: str = "", when: str = "") -> str:
    at = (f" at {code(revision[:12])}" if revision else "") + (f" on {when}" if when else "")
    return f"Every target ({len(checks)}) holds what `main` says again (checked{at}). Closing."

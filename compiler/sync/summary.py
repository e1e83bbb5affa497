"""How plans and sync results read: per file, per model, one summary line; or JSON."""
from __future__ import annotations

from compiler.console import human_size, paint, plural
from compiler.errors import printable
from compiler.sync.plan import CREATE, DELETE, REPAIR, UPDATE
from compiler.sync.transfer import SERVER_SIDE

_SIGN = {CREATE: "+", UPDATE: "~", REPAIR: "!", DELETE: "-"}
_COLOUR = {CREATE: "create", UPDATE: "update", REPAIR: "update", DELETE: "delete"}


def change_line(change, colour: bool) -> str:
    text = f"{_SIGN[change.action]} {change.action:<6} {printable(change.path)} ({human_size(change.size)})"
    if change.method == SERVER_SIDE:
        text += " (server-side copy)"
    if change.reason:
        text += f": {printable(change.reason)}"
    return paint(text, "dim" if change.skipped else _COLOUR[change.action], colour)


def _counts_text(counts, skipped_label: str) -> str:
    parts = [f"{counts[a]} to {a}" for a in (CREATE, UPDATE, REPAIR, DELETE) if counts.get(a)]
    if counts.get(DELETE + "-skipped"):
        parts.append(f"{counts[DELETE + '-skipped']} to delete {skipped_label}")
    if counts.get("drift"):
        parts.append(f"{counts['drift']} changed by hand, kept")
    return ", ".join(parts)


def plan_text(plan, target, colour: bool) -> list:
    lines = [change_line(c, colour) for c in plan.changes]
    per_model = plan.by_model()
    if per_model:
        lines.append("")
    for model, counts in sorted(per_model.items()):
        status = plan.model_status(model)
        prefix = f"{status}, " if status != "changed" else ""
        lines.append(f"{printable(model)}: {prefix}{_counts_text(counts, '(needs --prune)')}")
    for link in plan.links:
        lines.append(f"warning: {printable(link)} on the target is a symbolic link; sync will not write or "
                     "delete through it")
    if plan.state_damaged:
        lines.append(f"warning: the sync state on the target is {plan.state_damaged}; files it listed are "
                     "treated as not ours (nothing will be deleted)")
    if plan.changes:
        lines.append("")
    lines.append(plan_summary(plan, target))
    return lines


def plan_summary(plan, target) -> str:
    if plan.in_sync:
        text = f"{target.display}: in sync"
    else:
        counts = plan.counts()
        parts = [f"{counts[a]} to {a}" for a in (CREATE, UPDATE, REPAIR, DELETE) if counts.get(a)]
        if counts["skipped"]:
            parts.append(f"{counts['skipped']} to delete with --prune")
        if counts["drift"]:
            parts.append(f"{plural(counts['drift'], 'file')} changed by hand left for you (drift)")
        text = f"{target.display}: " + ", ".join(parts)
    if plan.unmanaged:
        text += f"; {plural(len(plan.unmanaged), 'file')} not written by triton-gitops left alone"
    return text


def _change_dict(change) -> dict:
    return {"action": change.action, "path": change.path, "model": change.model, "size": change.size,
            "reason": change.reason, "skipped": change.skipped, "drift": change.drift,
            "method": change.method or None}  # "server-side" | "upload"; None for a delete


def plan_json(plan, target) -> dict:
    models = {}
    for model, counts in sorted(plan.by_model().items()):
        models[model] = {"status": plan.model_status(model), **dict(sorted(counts.items()))}
    return {"target": target.display, "in_sync": plan.in_sync,
            "changes": [_change_dict(c) for c in plan.changes], "models": models,
            "unmanaged": plan.unmanaged, "state_damaged": plan.state_damaged}


def sync_summary(result, target, seconds: float, prune: bool) -> str:
    plan, outcome = result.plan, result.outcome
    skipped = len(plan.skipped) - len(plan.drifted)
    if outcome is None:
        text = f"{target.display}: in sync, nothing to do" if plan.in_sync else \
            f"{target.display}: nothing to send"
    else:
        counts = plan.counts()
        done = [f"{counts[a]} {p}" for a, p in ((CREATE, "created"), (UPDATE, "updated"), (REPAIR, "repaired"))
                if counts.get(a)]
        done.append(f"{outcome.deleted} deleted")
        copied = f" ({outcome.copied} copied server-side)" if outcome.copied else ""
        text = (f"synced {target.display}: {', '.join(done)}; {plural(outcome.sent_files, 'file')}{copied}, "
                f"{human_size(outcome.sent_bytes)} sent in {seconds:.1f} s")
    if skipped and not prune:
        text += f"; {plural(skipped, 'deletion')} skipped (use --prune)"
    if plan.drifted:
        text += (f"; {plural(len(plan.drifted), 'file')} the manifest dropped but changed by hand since "
                 "triton-gitops wrote it, kept (drift)")
    if plan.unmanaged:
        text += f"; {plural(len(plan.unmanaged), 'unmanaged file')} left alone"
    return text


def sync_json(result, target, seconds: float, dry_run: bool) -> dict:
    outcome = result.outcome
    data = plan_json(result.plan, target)
    data.update({"dry_run": dry_run, "sent_files": outcome.sent_files if outcome else 0,
                 "sent_bytes": outcome.sent_bytes if outcome else 0,
                 "copied_server_side": outcome.copied if outcome else 0,
                 "deleted": outcome.deleted if outcome else 0,
                 "skipped_deletes": len(result.plan.skipped) - len(result.plan.drifted),
                 "drift": [c.path for c in result.plan.drifted], "seconds": round(seconds, 3),
                 "revision": result.state.revision if result.state else None})
    return data

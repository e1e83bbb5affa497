"""Per-target plan results, as the PR workflow leaves them in a folder ($RUNNER_TEMP/triton-gitops-plans):

    <target>.json   stdout of `triton-gitops plan --target <target> --locked --output json`
    <target>.err    its stderr
    <target>.code   its exit code (0 in sync, 2 changes pending, 1 error)

The JSON is `compiler.sync.summary.plan_json`'s: `changes` (each with `action` create /
update / repair / delete, `path`, `model`, `skipped` for a delete that needs --prune),
`unmanaged` and `state_damaged`. It is read tolerantly: changes are counted per action and
per model (a skipped delete as `delete-skipped`), and a file that is not such JSON still
gives the target's status from the exit code.

The folder must hold only what this run's `plan` steps wrote: a pull request could commit
files there that claim "in sync" or carry text made to forge the comment. The workflows
write to a folder under $RUNNER_TEMP that they empty first (outside the checkout, where a
PR cannot put anything), and `read_plans` refuses a folder with files that git tracks.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler import gitinfo
from compiler.errors import FatalError, printable

IN_SYNC, PENDING, ERROR, UNKNOWN = "in sync", "changes pending", "error", "unknown"
_ACTION_KEYS = ("action", "op", "change")
_PATH_KEYS = ("path", "file", "key")
_ERR_LINES = 8


@dataclass
class TargetPlan:
    name: str
    status: str
    code: int | None = None
    actions: Counter = field(default_factory=Counter)  # action -> files
    models: dict = field(default_factory=dict)  # model -> Counter(action -> files)
    error: str = ""
    unmanaged: int = 0  # files on the target triton-gitops did not write (left alone)
    warning: str = ""  # e.g. a damaged state on the target
    data: Any = None  # the parsed JSON, as is (whatever a plan file holds)

    def describe(self, model: str) -> str:
        """`2 to create, 1 to delete with --prune` for one model."""
        counts = self.models.get(model, {})
        order = ["create", "update", "repair", "delete", "delete-skipped"]
        names = sorted(counts, key=lambda a: (order.index(a) if a in order else len(order), a))
        return ", ".join(f"{counts[a]} to {'delete with --prune' if a == 'delete-skipped' else a}" for a in names)

    def as_dict(self) -> dict:
        return {"target": self.name, "status": self.status, "exit_code": self.code,
                "actions": dict(self.actions), "models": {m: dict(c) for m, c in self.models.items()},
                "unmanaged": self.unmanaged, "warning": self.warning, "error": self.error}


def _first(item: dict, keys) -> str:
    for key in keys:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _changes(data) -> list:
    if isinstance(data, dict):
        for key in ("changes", "files"):
            if isinstance(data.get(key), list):
                return [c for c in data[key] if isinstance(c, dict)]
        if isinstance(data.get("plan"), dict):
            return _changes(data["plan"])
    return []


def _status(code, data) -> str:
    if code == 0:
        return IN_SYNC
    if code == 2:
        return PENDING
    if code is not None:
        return ERROR
    if isinstance(data, dict) and isinstance(data.get("pending"), bool):
        return PENDING if data["pending"] else IN_SYNC
    return UNKNOWN


def read_plan(name: str, json_text: str = "", code: int | None = None, stderr: str = "") -> TargetPlan:
    data = None
    if json_text.strip():
        try:
            data = json.loads(json_text)
        except ValueError:
            data = None
    plan = TargetPlan(name, _status(code, data), code, data=data)
    for change in _changes(data):
        action, path = _first(change, _ACTION_KEYS), _first(change, _PATH_KEYS)
        if not action:
            continue
        if action == "delete" and change.get("skipped") is True:
            action = "delete-skipped"
        model = change.get("model") if isinstance(change.get("model"), str) else path.split("/", 1)[0]
        plan.actions[action] += 1
        plan.models.setdefault(model or "", Counter())[action] += 1
    if isinstance(data, dict):
        if isinstance(data.get("unmanaged"), list):
            plan.unmanaged = len(data["unmanaged"])
        if isinstance(data.get("state_damaged"), str) and data["state_damaged"]:
            plan.warning = f"the sync state on the target is {data['state_damaged']}"
    if plan.status == ERROR:
        lines = [line for line in stderr.replace("\r\n", "\n").split("\n") if line.strip()]  # not at a bare CR
        plan.error = "\n".join(lines[-_ERR_LINES:]) or f"exit code {code}"
    return plan


def check_not_committed(folder: Path) -> None:
    """FatalError when git tracks any file in `folder`: plan results come from this run."""
    repo = gitinfo.open_repo(folder)
    if repo is None:
        return
    try:
        tracked = repo.git.ls_files("--", str(folder.resolve())).splitlines()
    except Exception:  # noqa: BLE001 - GitPython raises GitCommandError outside the work tree: nothing tracked there
        return
    if tracked:
        shown = ", ".join(printable(t) for t in tracked[:3]) + (" ..." if len(tracked) > 3 else "")
        raise FatalError(f"{printable(str(folder))}: holds {len(tracked)} file(s) committed to git ({shown}); "
                         "plan results must come from this run",
                         "write the plans to a folder the workflow creates empty, e.g. \"$RUNNER_TEMP/plans\" "
                         "after rm -rf")


def read_plans(folder) -> list:
    """Every `<target>.code` / `.json` / `.err` triple in `folder`, by target name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    check_not_committed(folder)
    names = sorted({p.stem for p in folder.iterdir() if p.suffix in (".json", ".code")})
    plans = []
    for name in names:
        code_text = _read(folder / f"{name}.code").strip()
        code = int(code_text) if code_text.lstrip("-").isdigit() else None
        plans.append(read_plan(name, _read(folder / f"{name}.json"), code, _read(folder / f"{name}.err")))
    return plans


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""

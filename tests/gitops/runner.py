"""Run a workflow job's `run:` steps the way the GitHub runner does, locally.

Each step runs with `bash --noprofile --norc -eo pipefail` in the work tree, with the
workflow/job/step `env:` (expressions evaluated), and with GITHUB_OUTPUT, GITHUB_STEP_SUMMARY,
GITHUB_ENV, GITHUB_PATH and GITHUB_EVENT_PATH pointing at files in a temp folder; step outputs
are read back from GITHUB_OUTPUT into `steps.<id>.outputs`. `uses:` steps are not run (the test
provides their effect: the checkout, the Python, the credentials) but their `if:` is still
evaluated and recorded. Expressions support the subset the workflows here use: contexts,
literals, ! == != && || ( ), and contains/startsWith/format/fromJSON/always/success/failure/cancelled.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from compiler.prreport.github import read_outputs

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),\[\]])"
                    r"|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_*][A-Za-z0-9_\-]*)*))")


def _tokens(text: str) -> list:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot parse expression at {text[pos:]!r}")
        pos = match.end()
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
    return out


def _number(value):
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if str(value).strip() else 0.0
    except ValueError:
        return float("nan")


def _equal(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, (int, float)):
        return a == b
    return _number(a) == _number(b)


def _truthy(value) -> bool:
    if isinstance(value, float) and value != value:
        return False
    return value not in (None, False, 0, "") if not isinstance(value, (dict, list)) else True


class _Parser:
    def __init__(self, text: str, context: dict, status: str):
        self.items, self.index, self.context, self.status = _tokens(text), 0, context, status

    def peek(self):
        return self.items[self.index] if self.index < len(self.items) else (None, None)

    def take(self, value=None):
        item = self.peek()
        if value is not None and item[1] != value:
            raise ValueError(f"expected {value!r}, got {item[1]!r}")
        self.index += 1
        return item

    def parse(self):
        value = self.or_()
        if self.index != len(self.items):
            raise ValueError(f"trailing tokens: {self.items[self.index:]}")
        return value

    def or_(self):
        value = self.and_()
        while self.peek()[1] == "||":
            self.take()
            right = self.and_()
            value = value if _truthy(value) else right
        return value

    def and_(self):
        value = self.compare()
        while self.peek()[1] == "&&":
            self.take()
            right = self.compare()
            value = right if _truthy(value) else value
        return value

    def compare(self):
        value = self.unary()
        while self.peek()[1] in ("==", "!="):
            op = self.take()[1]
            right = self.unary()
            value = _equal(value, right) if op == "==" else not _equal(value, right)
        return value

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return not _truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, text = self.take()
        if text == "(":
            value = self.or_()
            self.take(")")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek()[1] == "(":
            self.take()
            args = []
            while self.peek()[1] != ")":
                args.append(self.or_())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            return self.call(text, args)
        value = self.context
        for part in text.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def call(self, name: str, args: list):
        lowered = name.lower()
        if lowered in ("always", "success", "failure", "cancelled"):
            return {"always": True, "success": self.status == "success", "failure": self.status == "failure",
                    "cancelled": False}[lowered]
        if lowered == "contains":
            haystack, needle = args
            if isinstance(haystack, list):
                return any(_equal(item, needle) for item in haystack)
            return str(needle or "").lower() in str(haystack or "").lower()
        if lowered == "startswith":
            return str(args[0] or "").lower().startswith(str(args[1] or "").lower())
        if lowered == "fromjson":
            return json.loads(args[0])
        if lowered == "format":  # {0}, {1}, ... replaced; {{ and }} are literal braces
            template, values = str(args[0]), [_string(v) for v in args[1:]]
            return re.sub(r"\{\{|\}\}|\{(\d+)\}",
                          lambda m: values[int(m.group(1))] if m.group(1) else m.group(0)[0], template)
        raise ValueError(f"unsupported function {name}")


def _string(value) -> str:
    """A value as GitHub turns it into a string (null is '', booleans lower case)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def evaluate(expression: str, context: dict, status: str = "success"):
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return _Parser(text, context, status).parse()


def substitute(value, context: dict) -> str:
    """A string with every ${{ ... }} replaced by its value (as the runner formats it)."""
    def one(match):
        result = evaluate(match.group(1), context)
        if result is None:
            return ""
        if isinstance(result, bool):
            return "true" if result else "false"
        if isinstance(result, float) and result.is_integer():
            return str(int(result))
        return result if isinstance(result, str) else json.dumps(result)
    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value), flags=re.S)


@dataclass
class JobResult:
    outputs: dict
    steps: dict  # id or name -> {"outcome", "outputs"}
    ran: list = field(default_factory=list)  # names of the run: steps executed
    skipped: list = field(default_factory=list)  # names of steps whose if: was false, or uses: steps
    log: str = ""
    status: str = "success"


def load_action(path: Path) -> tuple:
    """(a one-job workflow holding a composite action's steps, its inputs with their defaults)."""
    data = yaml.safe_load(path.read_text())
    defaults = {name: spec.get("default", "") for name, spec in (data.get("inputs") or {}).items()}
    return {"jobs": {"action": {"steps": data["runs"]["steps"], "outputs": {
        name: spec["value"] for name, spec in (data.get("outputs") or {}).items()}}}}, defaults


def load_workflow(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def maintainer_vars() -> dict:
    """The repository variables a maintainer sets for the storage policy (docs/security.md):
    the workflows pass `vars.TRITON_GITOPS_ALLOWED_*` on to every step, and the tests' own
    policy (tests/conftest.py: TG_* variables, the emulators' endpoints) stands in for them."""
    return {name: os.environ[name] for name in ("TRITON_GITOPS_ALLOWED_ENV", "TRITON_GITOPS_ALLOWED_ENDPOINTS")
            if name in os.environ}


def run_job(workflow: dict, job_name: str, workdir: Path, files: Path, github: dict, *, env: dict,
            needs: dict | None = None, vars_: dict | None = None, matrix: dict | None = None, skip_names=(),
            inputs: dict | None = None, timeout: float = 120) -> JobResult:
    """Run one job's steps. `files` is the temp folder for the runner's files (shared by the jobs)."""
    job = workflow["jobs"][job_name]
    files.mkdir(parents=True, exist_ok=True)
    runner_files = {name: files / f"{job_name}.{name.lower()}" for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
    runner_files["GITHUB_STEP_SUMMARY"] = files / "step_summary.md"
    event_path = files / "event.json"
    event_path.write_text(json.dumps(github.get("event", {})))
    context = {"github": github, "vars": {**maintainer_vars(), **(vars_ or {})}, "secrets": {}, "needs": needs or {}, "steps": {},
               "matrix": matrix or {}, "inputs": inputs or {}, "runner": {"os": "Linux", "temp": str(files)}, "env": {}}
    workflow_env = {k: substitute(v, context) for k, v in (workflow.get("env") or {}).items()}
    context["env"] = dict(workflow_env)
    job_env = {k: substitute(v, context) for k, v in (job.get("env") or {}).items()}
    context["env"].update(job_env)
    result = JobResult({}, {})
    for index, step in enumerate(job["steps"]):
        name = step.get("name") or step.get("uses") or f"step {index}"
        condition = step.get("if")
        wanted = evaluate(str(condition), context, result.status) if condition is not None \
            else result.status == "success"
        if not _truthy(wanted) or "uses" in step or name in skip_names:
            result.skipped.append(name)
            _record(context, result, step, "skipped", {})
            continue
        for path in runner_files.values():
            path.touch()
        runner_files["GITHUB_OUTPUT"].write_text("")
        step_env = {k: substitute(v, context) for k, v in (step.get("env") or {}).items()}
        full_env = {**env, **{k: str(v) for k, v in runner_files.items()}, "GITHUB_EVENT_PATH": str(event_path),
                    "GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_WORKSPACE": str(workdir),
                    "GITHUB_EVENT_NAME": github.get("event_name", ""),
                    "GITHUB_REPOSITORY": github.get("repository", ""),
                    **workflow_env, **job_env, **step_env}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                              cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout)
        result.log += f"--- {name} (exit {proc.returncode})\n{proc.stdout}{proc.stderr}"
        result.ran.append(name)
        outcome = "success" if proc.returncode == 0 else "failure"
        _record(context, result, step, outcome, read_outputs(runner_files["GITHUB_OUTPUT"]))
        if outcome == "failure" and not step.get("continue-on-error"):
            result.status = "failure"
    for key, value in (job.get("outputs") or {}).items():
        result.outputs[key] = substitute(value, context)
    return result


def _record(context: dict, result: JobResult, step: dict, outcome: str, outputs: dict) -> None:
    entry = {"outcome": outcome, "conclusion": outcome, "outputs": outputs}
    if step.get("id"):
        context["steps"][step["id"]] = entry
    result.steps[step.get("id") or step.get("name") or step.get("uses")] = entry


def github_context(event: dict, event_name: str, repository: str, token: str = "ghs_fake") -> dict:
    return {"event": event, "event_name": event_name, "repository": repository, "token": token,
            "workflow": "test", "ref": event.get("ref", ""), "sha": event.get("after", "")}


def runner_env(bin_dir: Path) -> dict:
    """The process environment for steps: this machine's, with `bin_dir` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env

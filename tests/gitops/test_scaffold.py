"""`init`, and the rules every workflow file here follows (pins, permissions, triggers)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from compiler.scaffold import SELF_FILES, self_files
from compiler.scaffold.pins import ACTIONS
from tests.helpers import REPO, run_cli

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
# What the scaffold installs in CI, told (its default is tested in test_scaffold_install.py).
TOLD = ("--install", "'triton-gitops @ git+https://github.com/acme/triton-gitops@v0.1.0'")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(?:\s+#\s*(\S+))?\s*$", re.M)


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    if True in data:  # PyYAML reads the `on:` key as a boolean
        data["on"] = data.pop(True)
    return data


def test_init_writes_a_repository_that_validates_and_compiles(tmp_path):
    dest = tmp_path / "team-models"
    code, out, _ = run_cli("init", dest, *TOLD)
    assert code == 0
    files = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    if importlib.util.find_spec("compiler.commands.lock"):  # the sync workflow runs `sync --locked`
        assert "create models.lock" in out
        files.remove("models.lock")
    assert files == {".github/workflows/triton-gitops-drift.yml", ".github/workflows/triton-gitops-plan.yml",
                     ".github/workflows/triton-gitops-sync.yml",
                     ".gitignore", "README.md", "docker-compose.yml", "models.yaml", "models/hello/1/model.py",
                     "schemas/models.schema.json"}
    manifest = (dest / "models.yaml").read_text()
    assert manifest.startswith("# yaml-language-server: $schema=schemas/models.schema.json\n")
    assert "create models.yaml" in out and "git init" in out
    assert (dest / "README.md").read_text().startswith("# team-models\n")
    assert run_cli("validate", "models.yaml", cwd=dest)[0] == 0
    code, out, _ = run_cli("compile", "models.yaml", "--out", "build/model_repository", cwd=dest)
    assert code == 0, out
    assert (dest / "build/model_repository/hello/config.pbtxt").is_file()
    assert (dest / "build/model_repository/hello/1/model.py").is_file()
    assert run_cli("schema")[1] == (dest / "schemas/models.schema.json").read_text()


def test_init_never_overwrites_without_force(tmp_path):
    (tmp_path / "models.yaml").write_text("mine\n")
    code, _, err = run_cli("init", tmp_path, *TOLD)
    assert code == 1
    assert "would overwrite 1 existing file(s): models.yaml" in err and "--force" in err
    assert (tmp_path / "models.yaml").read_text() == "mine\n"
    assert not (tmp_path / "README.md").exists()
    assert run_cli("init", tmp_path, "--force", *TOLD)[0] == 0
    assert (tmp_path / "models.yaml").read_text().startswith("# yaml-language-server")


def test_init_options_reach_the_workflows(tmp_path):
    code, _, _ = run_cli("init", tmp_path, "--name", "ml", "--install", "triton-gitops==9.9",
                         "--python-version", "3.12", "--no-example")
    assert code == 0
    plan = (tmp_path / ".github/workflows/triton-gitops-plan.yml").read_text()
    assert "python -m pip install --disable-pip-version-check triton-gitops==9.9" in plan
    assert 'python-version: "3.12"' in plan
    assert not (tmp_path / "models").exists()
    assert "name: ml\n" in (tmp_path / "docker-compose.yml").read_text()
    assert run_cli("validate", tmp_path / "models.yaml")[0] == 0


def test_this_repositorys_files_are_the_templates_rendered():
    for name, data in self_files().items():
        assert (REPO / name).read_bytes() == data, f"{name} differs: run `python -m compiler.scaffold`"
    assert {str(p.relative_to(REPO)) for p in WORKFLOWS} <= set(SELF_FILES)


def _github_files(tmp_path) -> list:
    run_cli("init", tmp_path / "s", *TOLD)
    return WORKFLOWS + [REPO / "action.yml"] + sorted((tmp_path / "s/.github/workflows").glob("*.yml"))


def test_every_action_is_pinned_to_a_known_full_sha(tmp_path):
    known = {(action, sha): tag for action, sha, tag in ACTIONS.values()}
    seen = set()
    for path in _github_files(tmp_path):
        for ref, comment in USES.findall(path.read_text()):
            action, _, sha = ref.partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{path}: {ref} is not pinned by full SHA"
            assert known.get((action, sha)) == comment, f"{path}: {ref} # {comment} is not in compiler/scaffold/pins.py"
            seen.add(action)
    assert {"actions/checkout", "actions/setup-python", "aws-actions/configure-aws-credentials",
            "google-github-actions/auth", "azure/login"} <= seen


def test_least_privilege_and_no_pull_request_target():
    for path in WORKFLOWS:
        data = load(path)
        assert "pull_request_target" not in data["on"] and "workflow_run" not in data["on"]
        assert data["permissions"] == {}, f"{path}: the workflow default must grant nothing"
        for name, job in data["jobs"].items():
            perms = job.get("permissions")
            assert isinstance(perms, dict), f"{path}: job {name} must list its permissions"
            assert set(perms.values()) <= {"read", "write"}
            assert perms.get("contents", "read") == "read", f"{path}: job {name} must not write the repository"
        for step in (s for job in data["jobs"].values() for s in job.get("steps", [])):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_pr_workflow_shape():
    data = load(REPO / ".github/workflows/triton-gitops-plan.yml")
    assert set(data["on"]) == {"pull_request"}
    assert "models.yaml" in data["on"]["pull_request"]["paths"]
    plan, comment = data["jobs"]["plan"], data["jobs"]["comment"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    assert comment["permissions"] == {"pull-requests": "write"}
    assert "head.repo.full_name == github.repository" in comment["if"]
    runs = "\n".join(s.get("run", "") for s in plan["steps"])
    for command in ("triton-gitops validate", "compile \"$MANIFEST\" --out build/model_repository --dry-run",
                    "triton-gitops plan", "triton-gitops report"):
        assert command in runs
    step = comment["steps"][0]
    assert step["env"]["MARKER"] == "<!-- triton-gitops:plan -->" and "env.MARKER" in step["run"]
    assert step["env"]["COMMENT_AUTHOR"] == "github-actions[bot]" and '.user.type == "Bot"' in step["run"]


@pytest.mark.parametrize("source", ["repo", "init"])
def test_the_pr_check_runs_what_the_deploy_runs(source):
    """The deploy runs `sync --locked`: every check of the PR (and of the deploy) is --locked too."""
    if source == "repo":
        texts = {name: (REPO / ".github/workflows" / name).read_text()
                 for name in ("triton-gitops-plan.yml", "triton-gitops-sync.yml")}
    else:
        from compiler.scaffold import Options, render_all

        files = render_all(Options())
        texts = {name: files[f".github/workflows/{name}"].decode() for name in
                 ("triton-gitops-plan.yml", "triton-gitops-sync.yml")}
    found = []
    for name, text in texts.items():
        data = yaml.safe_load(text)
        for job in data["jobs"].values():
            for step in job.get("steps", []):
                for line in step.get("run", "").replace("\\\n", " ").split("\n"):  # continued lines joined
                    match = re.search(r"triton-gitops (validate|compile|plan|sync)\b", line)
                    if match:
                        found.append((name, match.group(1)))
                        assert "--locked" in line, f"{name}: {line.strip()} runs without --locked"
    assert sorted(set(found)) == [("triton-gitops-plan.yml", "compile"), ("triton-gitops-plan.yml", "plan"),
                                  ("triton-gitops-plan.yml", "validate"), ("triton-gitops-sync.yml", "sync"),
                                  ("triton-gitops-sync.yml", "validate")]


def test_sync_workflow_one_job_per_target_serialised_with_environments():
    data = load(REPO / ".github/workflows/triton-gitops-sync.yml")
    assert data["on"]["push"]["branches"] == ["main"]
    sync = data["jobs"]["sync"]
    assert sync["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    assert sync["environment"] == {"name": "${{ matrix.target }}"}
    assert sync["concurrency"] == {"group": "triton-gitops-sync-${{ matrix.target }}", "cancel-in-progress": False}
    assert sync["permissions"] == {"contents": "read", "id-token": "write"}
    steps = {s.get("name"): s for s in sync["steps"]}
    assert 'sync "$MANIFEST" --target "$TARGET" --locked' in steps["Sync"]["run"]
    assert steps["AWS credentials"]["if"] == "matrix.kind == 's3'"
    assert "secrets." not in (REPO / ".github/workflows/triton-gitops-sync.yml").read_text()


def test_docker_compose_serves_the_local_repository():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    triton = compose["services"]["triton"]
    assert re.fullmatch(r"nvcr\.io/nvidia/tritonserver:\$\{TRITON_TAG:-\d\d\.\d\d\}-py3", triton["image"])
    assert triton["ports"] == ["127.0.0.1:8000:8000", "127.0.0.1:8001:8001", "127.0.0.1:8002:8002"]
    # the parent is mounted: `compile --out` swaps in a new folder, invisible through a bind mount of the old one
    assert triton["volumes"][0] == {"type": "bind", "source": "./build", "target": "/build", "read_only": True}
    assert "--model-repository=/build/model_repository" in triton["command"]
    assert "/v2/health/ready" in " ".join(triton["healthcheck"]["test"])


def test_pre_commit_hook():
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["triton-gitops-validate"]
    hook = hooks[0]
    assert hook["entry"] == "triton-gitops validate" and hook["language"] == "python"
    assert re.search(hook["files"], "models.yaml") and re.search(hook["files"], "deploy/models.yaml")
    assert not re.search(hook["files"], "models.yaml.bak")


@pytest.mark.parametrize("command", ["init", "report", "targets", "completion"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        from compiler.cli import main
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"triton-gitops {command}" in out.split("example:\n  ", 1)[1].splitlines()[0]


def test_init_without_example_then_sync_creates_the_served_folder(tmp_path):
    assert run_cli("init", tmp_path, "--no-example", *TOLD)[0] == 0
    code, out, err = run_cli("sync", "models.yaml", cwd=tmp_path)
    assert code == 0, err
    assert "in sync" in out
    assert (tmp_path / "build/model_repository").is_dir()  # Triton refuses a --model-repository that is missing

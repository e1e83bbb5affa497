"""The sync workflow updates a target's Triton servers (the manifest's `servers:`) after its
sync: rollout for EXPLICIT fleets, `status --wait` for POLL fleets (docs/fleet.md)."""
import json
from pathlib import Path

from tests.gitops import runner
from tests.helpers import run_cli

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """version: 1
targets:
  local: {url: build/target}
  prod:
    url: s3://bucket/models
    servers: ["dns+grpc://triton-headless.ml.svc.cluster.local:8001"]
  staging: {url: s3://bucket/staging}
models:
  echo:
    backend: python
    input: [{name: X, data_type: FP32, dims: [-1]}]
    output: [{name: Y, data_type: FP32, dims: [-1]}]
    versions: {1: {source: echo.py}}
"""


def test_the_targets_matrix_marks_a_target_with_servers(tmp_path, monkeypatch):
    (tmp_path / "models.yaml").write_text(MANIFEST)
    (tmp_path / "echo.py").write_text("# echo\n")
    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    code, out, err = run_cli("targets", tmp_path / "models.yaml", "--remote", "--github-output")
    assert code == 0, out + err
    matrix = next(line for line in output.read_text().splitlines() if line.startswith("matrix="))
    assert json.loads(matrix[len("matrix="):]) == {"include": [{"target": "prod", "kind": "s3", "servers": "yes"},
                                                               {"target": "staging", "kind": "s3"}]}


def test_the_sync_job_rolls_out_or_waits_only_for_a_target_with_servers():
    workflow = runner.load_workflow(REPO / ".github/workflows/triton-gitops-sync.yml")
    step = next(s for s in workflow["jobs"]["sync"]["steps"] if s.get("name") == "Triton servers of the target take the change")
    github = runner.github_context({"ref": "refs/heads/main", "repository": {"default_branch": "main"}}, "push", "a/b")
    assert runner.evaluate(step["if"], {"matrix": {"target": "prod", "kind": "s3", "servers": "yes"},
                                        "github": github}) is True
    assert runner.evaluate(step["if"], {"matrix": {"target": "staging", "kind": "s3"}, "github": github}) is False
    assert 'status "$MANIFEST" --target "$TARGET" --wait' in step["run"]
    assert 'rollout "$MANIFEST" --target "$TARGET" --smoke' in step["run"]
    assert step["env"]["MODEL_CONTROL"] == "${{ vars.TRITON_MODEL_CONTROL }}"  # never expanded into the script
    assert "${{" not in step["run"]

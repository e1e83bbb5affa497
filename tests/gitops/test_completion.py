"""`triton-gitops completion`: the generated bash script completes commands, options, choices, targets."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.gitops.test_workflow_run import tool_bin
from tests.helpers import REPO, run_cli

PROBE = """
source "$1"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _triton_gitops; echo "${COMPREPLY[*]}"; }
comp triton-gitops rep
comp triton-gitops report --ba
comp triton-gitops report --output ''
comp triton-gitops validate --output j
comp triton-gitops sync --target ''
comp triton-gitops cache ''
comp triton-gitops completion ''
comp triton-gitops completion z
comp triton-gitops cache prune --
complete -p triton-gitops
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    code, text, _ = run_cli("completion", "bash")
    assert code == 0
    path = tmp_path_factory.mktemp("completion") / "triton-gitops.bash"
    path.write_text(text)
    return path


def test_bash_completion(script, tmp_path):
    bin_dir = tool_bin(tmp_path / "bin")
    (tmp_path / "models.yaml").write_text((REPO / "models.yaml").read_text().replace(
        "  local: {url: build/model_repository}\n",
        "  local: {url: build/model_repository}\n  prod: {url: s3://b/m}\n  prod-eu: {url: gs://b/m}\n"))
    result = subprocess.run(["bash", "--norc", "-c", PROBE, "probe", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "report", "--base", "markdown json", "json", "local prod prod-eu",
        "prune", "bash zsh", "zsh", "--help --older-than --all",
        "complete -o bashdefault -o filenames -F _triton_gitops triton-gitops"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed here")
def test_zsh_loads_it(tmp_path):
    path = tmp_path / "c.zsh"
    path.write_text(run_cli("completion", "zsh")[1])
    result = subprocess.run(["zsh", "-f", "-c", f"source {path} && echo ok"], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_zsh_script_enables_bash_completion_first():
    assert run_cli("completion", "zsh")[1].splitlines()[1] == "autoload -U +X bashcompinit && bashcompinit"


def test_bash_completes_explain_field_paths_without_globbing_them(script, tmp_path):
    bin_dir = tool_bin(tmp_path / "bin")
    (tmp_path / "models.yaml").write_text("version: 1\nmodels: {}\n")  # `models.*` would glob to it
    probe = PROBE.split("comp triton-gitops rep")[0] + (
        "comp triton-gitops explain instance_group.k\n"
        "comp triton-gitops explain models\n"
        "comp triton-gitops explain targets.\n"
        "comp triton-gitops explain --output j\n")
    result = subprocess.run(["bash", "--norc", "-c", probe, "probe", str(script)], cwd=tmp_path,
                            capture_output=True, text=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "instance_group.kind", "models models.*", "targets.* targets.*.triton targets.*.config_name targets.*.url targets.*.storage_options targets.*.servers",
        "json"]

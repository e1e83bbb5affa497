"""A manifest's local target must stay inside the manifest's repository (compiler/manifest/local_target.py):
`validate` reports one that leaves as a located error among the manifest's other problems, and
`plan` refuses it with the same words; `compile` (its default --out) does not write there.

The example project (README's models.yaml and examples/) is copied into a git work tree and
its `local: {url: build/model_repository}` line replaced by the URL under test.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler.errors import FatalError
from compiler.manifest import load_manifest
from compiler.manifest.local_target import local_path
from compiler.storage import policy
from compiler.sync.boundary import check_local_target
from compiler.sync.target import resolve_target
from tests.helpers import REPO, run_cli

EXAMPLE_TARGET = "  local: {url: build/model_repository}\n"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "repo"
    folder.mkdir()
    shutil.copytree(REPO / "examples", folder / "examples")
    shutil.copy(REPO / "models.yaml", folder / "models.yaml")
    assert EXAMPLE_TARGET in (folder / "models.yaml").read_text()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    (tmp_path / "elsewhere").mkdir()
    return folder


def _target(project: Path, url: str) -> int:
    """Point the manifest's local target at `url`; the line it is written on."""
    manifest = project / "models.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace(EXAMPLE_TARGET, f"  local: {{url: {json.dumps(url)}}}\n"))
    return text[:text.index(EXAMPLE_TARGET)].count("\n") + 1


def _error_line(output: str, rule: str) -> str:
    found = [line for line in output.splitlines() if f"[{rule}]" in line]
    assert len(found) == 1, output
    return found[0]


def _outside(tmp_path: Path, project: Path) -> dict:
    """{case: (URL, words of the error)}: every way a manifest's local target can leave."""
    elsewhere, git = tmp_path / "elsewhere", f"its git work tree {project}"
    return {
        "a system file": ("file:///etc/shadow", f"local folder 'file:///etc/shadow' (/etc/shadow) is outside {git}"),
        "an absolute folder outside": (str(elsewhere), f"({elsewhere}) is outside its git work tree {project}"),
        "a .. escape": ("../../outside", f"local folder '../../outside' ({tmp_path.parent / 'outside'}) is outside"),
        "a link inside the repository pointing out": (
            "build/model_repository", f"local folder 'build/model_repository' ({elsewhere}/model_repository) is outside"),
        "the manifest's own folder": (".", f"local folder '.' ({project}) holds the manifest itself"),
        "the manifest's own folder, absolute": (f"file://{project}/", "holds the manifest itself"),
        "a home folder": ("~/models", f"local folder '~/models' ({tmp_path / 'home' / 'models'}) is outside"),
    }


CASES = ["a system file", "an absolute folder outside", "a .. escape", "a link inside the repository pointing out",
         "the manifest's own folder", "the manifest's own folder, absolute", "a home folder"]


@pytest.mark.parametrize("case", CASES)
def test_validate_reports_a_local_target_outside_the_repository_where_plan_refuses_it(project, tmp_path, monkeypatch,
                                                                                      case):
    url, words = _outside(tmp_path, project)[case]
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if case == "a link inside the repository pointing out":
        (project / "build").symlink_to(tmp_path / "elsewhere")
    line = _target(project, url)
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    assert code == 1, out + err
    found = _error_line(out, "target-outside")
    assert found.startswith(f"models.yaml:{line}:16: error: targets.local.url: ") and words in found, found
    assert "hint: keep a manifest's local target inside its repository" in out and "--target /path/to/folder" in out
    assert "models.yaml: 1 error, 0 warnings" in out and "Traceback" not in err
    code, json_out, _ = run_cli("validate", "models.yaml", "--output", "json", cwd=project)
    problems = json.loads(json_out)["problems"]
    assert code == 1 and [(p["rule"], p["line"], p["path"]) for p in problems] == [
        ("target-outside", line, "targets.local.url")]
    for command in ("plan", "sync"):  # the same words, and nothing written
        code, plan_out, plan_err = run_cli(command, "models.yaml", cwd=project)
        assert code == 1 and found in plan_out.splitlines(), plan_out + plan_err
    assert not list((tmp_path / "elsewhere").iterdir())


def test_it_is_one_report_with_the_manifests_other_problems(project, tmp_path):
    _target(project, str(tmp_path / "elsewhere"))
    manifest = project / "models.yaml"
    manifest.write_text(manifest.read_text().replace("max_batch_size: 8", "max_batch_size: -8", 1))
    code, out, _ = run_cli("validate", "models.yaml", cwd=project)
    assert code == 1 and "[target-outside]" in out and "[max-batch-size]" in out and "models.yaml: 3 errors" in out, out


@pytest.mark.parametrize("url", ["build/model_repository", "./build/model_repository", "file://{project}/build/repo",
                                 "{project}/out", "${TG_OUT}/repo", "${TG_UNSET_OUT:-build}/repo",
                                 "local://build/repo"])
def test_a_local_target_inside_the_repository_validates(project, monkeypatch, url):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT TG_UNSET_OUT")  # the storage policy allows them
    monkeypatch.setenv("TG_OUT", str(project / "build"))
    monkeypatch.delenv("TG_UNSET_OUT", raising=False)
    _target(project, url.replace("{project}", str(project)))
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    assert code == 0 and "models.yaml: OK (3 models, 12 files)" in out, out + err
    code, out, err = run_cli("plan", "models.yaml", cwd=project)
    assert code == 2 and "12 to create" in out, out + err


def test_the_readme_example_validates_where_it_is(tmp_path, monkeypatch):
    """The repository's own models.yaml (README's example, its sources in examples/), in place."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TRITON_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    code, out, err = run_cli("validate", REPO / "models.yaml")
    assert code == 0 and "OK (3 models, 12 files)" in out, out + err


def test_a_variable_is_checked_with_its_value_which_is_never_shown(project, tmp_path, monkeypatch):
    secret = f"{tmp_path}/elsewhere//s3cr3t-value/./"  # normalized by the real path: no literal match left
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT")
    monkeypatch.setenv("TG_OUT", secret)
    line = _target(project, "${TG_OUT}/repo")
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    found = _error_line(out, "target-outside")
    assert code == 1 and found.startswith(f"models.yaml:{line}:16: error: targets.local.url: local folder "
                                          f"'${{TG_OUT}}/repo' is outside its git work tree {project}")
    assert "s3cr3t" not in out + err
    code, out, err = run_cli("plan", "models.yaml", cwd=project)
    assert code == 1 and found in out.splitlines() and "s3cr3t" not in out + err
    monkeypatch.setenv("TG_OUT", str(project / "build"))  # the same manifest, another value: fine
    assert run_cli("validate", "models.yaml", cwd=project)[0] == 0


def test_an_unset_variable_is_reported_as_plan_reports_it(project, monkeypatch):
    """The run cannot tell where the folder is, and refuses the target: validate says so too."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_UNSET_OUT")
    monkeypatch.delenv("TG_UNSET_OUT", raising=False)
    line = _target(project, "${TG_UNSET_OUT}/repo")
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    found = _error_line(out, "target-env")
    assert code == 1 and found == (f"models.yaml:{line}:16: error: targets.local.url: refers to ${{TG_UNSET_OUT}}, "
                                   "which is not set [target-env]"), out
    assert "hint: export TG_UNSET_OUT=... or write ${TG_UNSET_OUT:-default}" in out
    code, out, err = run_cli("plan", "models.yaml", cwd=project)
    assert code == 1 and found in out.splitlines(), out + err


@pytest.mark.parametrize("value", ["s3://s3cr3t-bucket/models", "file:///etc/s3cr3t"])
def test_a_variable_cannot_give_a_local_target_another_scheme(project, monkeypatch, value):
    """`url: ${DEPLOY_URL}` is a local folder as written; set to s3://... it would be read as a folder
    `s3:` in the repository. The kind of target is the manifest's to say, so it is refused."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_DEPLOY_URL")
    monkeypatch.setenv("TG_DEPLOY_URL", value)
    line = _target(project, "${TG_DEPLOY_URL}")
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    found = _error_line(out, "target-env")
    assert code == 1 and found.startswith(f"models.yaml:{line}:16: error: targets.local.url: local folder "
                                          "'${TG_DEPLOY_URL}': a variable's value changes the URL's scheme"), out
    assert "s3cr3t" not in out + err
    code, out, err = run_cli("plan", "models.yaml", cwd=project)
    assert code == 1 and found in out.splitlines() and "s3cr3t" not in out + err
    assert not (project / "s3:").exists()
    monkeypatch.setenv("TG_DEPLOY_URL", "build/model_repository")  # a path: fine
    assert run_cli("validate", "models.yaml", cwd=project)[0] == 0


@pytest.mark.parametrize("url", ["~no-such-user-tg/models", "~${TG_USER}/models"])
def test_a_home_folder_of_no_user_is_a_located_error_not_a_crash(project, monkeypatch, url):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_USER")
    monkeypatch.setenv("TG_USER", "s3cr3t-no-such-user")
    line = _target(project, url)
    for command in ("validate", "plan"):
        code, out, err = run_cli(command, "models.yaml", cwd=project)
        found = _error_line(out, "target-home")
        assert code == 1 and found.startswith(f"models.yaml:{line}:16: error: targets.local.url: local folder "
                                              f"'{url}': its ~user is no user of this machine"), out
        assert "internal error" not in err and "Traceback" not in err and "s3cr3t" not in out + err


SECRET = "s3cr3t-t0ken-value"


def _named_after(root: Path, text: str) -> list:
    """Every file or folder under `root` whose name holds `text`."""
    return [os.path.join(folder, name) for folder, folders, files in os.walk(root)
            for name in folders + files if text in name]


def test_a_variable_the_policy_does_not_allow_is_refused_by_every_command_and_never_expanded(
        project, tmp_path, monkeypatch):
    """`url: build/${SOME_SECRET}` would otherwise create a folder named after the secret in the work
    tree, which a workflow may list, upload or commit: the storage policy decides, as for a remote URL."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT")  # a policy that names other variables
    monkeypatch.setenv("SOME_SECRET", SECRET)
    line = _target(project, "build/${SOME_SECRET}")
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    found = _error_line(out, "target-env")
    assert code == 1 and found == (
        f"models.yaml:{line}:16: error: targets.local.url: ${{SOME_SECRET}} is not allowed by the storage policy, "
        "so it is not expanded: a pull request could otherwise write the runner's environment into a folder's name, "
        "which a workflow may list, upload or commit [target-env]"), out
    assert "TRITON_GITOPS_ALLOWED_ENV=SOME_SECRET in the workflow, or allowed_env in the policy file" in out
    assert "models.yaml: 1 error, 0 warnings" in out and SECRET not in out + err
    code, json_out, err = run_cli("validate", "models.yaml", "--output", "json", cwd=project)
    assert code == 1 and SECRET not in json_out + err
    assert [(p["rule"], p["line"], p["path"]) for p in json.loads(json_out)["problems"]] == [
        ("target-env", line, "targets.local.url")]
    for args in (("plan",), ("sync",), ("sync", "--target", "local"), ("compile",), ("compile", "--dry-run")):
        code, out, err = run_cli(*args, "models.yaml", cwd=project)
        assert code == 1 and found in out.splitlines(), (args, out + err)
        assert SECRET not in out + err and "Traceback" not in err, args
    assert _named_after(tmp_path, SECRET) == [] and not (project / "build").exists()


def test_a_refused_variable_is_not_expanded_where_the_run_resolves_the_target(project, monkeypatch):
    """The run's own resolution (compiler/sync/target.py, as `sync --revision` and `promote` use
    it) keeps to the same rule as the manifest's check, with the same words."""
    monkeypatch.setenv("SOME_SECRET", SECRET)
    _target(project, "build/${SOME_SECRET}")
    loaded = load_manifest(project / "models.yaml", policy=policy.Policy(env=("TG_*",)))
    assert loaded.manifest is not None and [p.rule for p in loaded.problems] == ["target-env"]
    with pytest.raises(FatalError) as raised:
        resolve_target(loaded.manifest, None, policy.Policy(env=("TG_*",)))
    assert str(raised.value).startswith("target 'local': ${SOME_SECRET} is not allowed by the storage policy")
    assert SECRET not in str(raised.value) + str(raised.value.hint)
    target = resolve_target(loaded.manifest, "local", policy.Policy(env=("SOME_*",)))
    assert target.root == str(project / "build" / SECRET) and target.values == {"SOME_SECRET": SECRET}


def _sync_into_the_allowed_folder(project: Path) -> None:
    line = _target(project, "build/${MODELS_FOLDER}")
    assert line
    code, out, err = run_cli("validate", "models.yaml", cwd=project)
    assert code == 0 and "models.yaml: OK (3 models, 12 files)" in out, out + err
    code, out, err = run_cli("sync", "models.yaml", cwd=project)
    assert code == 0 and (project / "build" / "team-a" / "preprocess" / "config.pbtxt").is_file(), out + err
    code, out, err = run_cli("compile", "models.yaml", "--dry-run", cwd=project)  # its default --out: the same folder
    assert code == 0 and "build/team-a" in out, out + err


def test_a_variable_the_environment_policy_allows_is_expanded(project, monkeypatch):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "MODELS_FOLDER")
    monkeypatch.setenv("MODELS_FOLDER", "team-a")
    _sync_into_the_allowed_folder(project)


def test_a_variable_the_policy_file_allows_is_expanded(project, tmp_path, monkeypatch):
    monkeypatch.delenv("TRITON_GITOPS_ALLOWED_ENV", raising=False)
    (tmp_path / "policy.yaml").write_text("allowed_env: [MODELS_*]\n")
    monkeypatch.setenv("TRITON_GITOPS_POLICY", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv("MODELS_FOLDER", "team-a")
    _sync_into_the_allowed_folder(project)


def test_a_folder_named_on_the_command_line_is_not_under_the_policy(project, tmp_path, monkeypatch):
    """`--target PATH` is the operator's, not the pull request's: its variables are all expanded."""
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT")
    monkeypatch.setenv("OPERATOR_DIR", "mine")
    code, out, err = run_cli("sync", "models.yaml", "--target", str(tmp_path / "elsewhere") + "/${OPERATOR_DIR}",
                             cwd=project)
    assert code == 0, out + err
    assert (tmp_path / "elsewhere" / "mine" / "preprocess" / "config.pbtxt").is_file()


def test_outside_git_the_manifests_folder_is_the_boundary(project, tmp_path):
    shutil.rmtree(project / ".git")
    _target(project, "../elsewhere")
    code, out, _ = run_cli("validate", "models.yaml", cwd=project)
    assert code == 1 and f"is outside the manifest's folder {project} [target-outside]" in out, out


def test_every_local_target_of_the_manifest_is_checked_not_only_the_default_one(project, tmp_path):
    manifest = project / "models.yaml"
    manifest.write_text(manifest.read_text().replace(
        EXAMPLE_TARGET, EXAMPLE_TARGET + f"  archive: {{url: {tmp_path / 'elsewhere'}}}\n"))
    code, out, _ = run_cli("validate", "models.yaml", cwd=project)
    assert code == 1 and "targets.archive.url: local folder" in out, out


def test_a_folder_named_on_the_command_line_may_be_anywhere(project, tmp_path):
    code, out, err = run_cli("sync", "models.yaml", "--target", str(tmp_path / "elsewhere"), cwd=project)
    assert code == 0, out + err
    assert (tmp_path / "elsewhere" / "preprocess" / "config.pbtxt").is_file()


def test_compile_does_not_write_to_a_manifest_target_outside(project, tmp_path):
    (project / "build").symlink_to(tmp_path / "elsewhere")
    for args in (("--dry-run",), ()):
        code, out, err = run_cli("compile", "models.yaml", *args, cwd=project)
        assert code == 1 and "[target-outside]" in out, out + err
    assert not list((tmp_path / "elsewhere").iterdir())


def test_sync_checks_the_folder_again_right_before_using_it(project, tmp_path):
    """The folder may change between the load (which checked it) and the run's use of it:
    compiler/sync/boundary.py checks what the run resolved, with the same words."""
    loaded = load_manifest(project / "models.yaml")
    assert loaded.ok, loaded.problems
    (project / "build").symlink_to(tmp_path / "elsewhere")
    target = resolve_target(loaded.manifest, None, policy.DEFAULT)
    with pytest.raises(FatalError) as raised:
        check_local_target(target, loaded.manifest, None, loaded.document)
    text = (project / "models.yaml").read_text()
    line = text[:text.index(EXAMPLE_TARGET)].count("\n") + 1
    assert str(raised.value).startswith(
        f"{loaded.document.file}:{line}:16: target 'local': local folder 'build/model_repository' "
        f"({tmp_path / 'elsewhere' / 'model_repository'}) is outside its git work tree {project}")
    check_local_target(target, loaded.manifest, str(tmp_path / "elsewhere"), loaded.document)  # a command-line path


def test_local_path_expands_home_and_refuses_an_unknown_user(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_path("~/x", Path("/base")) == tmp_path / "x"
    assert local_path("file://~/x", Path("/base")) == tmp_path / "x"
    assert local_path("x/y", Path("/base")) == Path("/base/x/y")
    assert local_path("/abs", Path("/base")) == Path("/abs")
    with pytest.raises(FatalError, match="is no user of this machine") as raised:
        local_path("~s3cr3t-no-such-user/x", Path("/base"))
    assert "s3cr3t" not in str(raised.value)  # the URL may hold a variable's value: its callers show it as written
    assert os.path.isabs(str(local_path("~", Path("/base"))))

"""A models repository with a pull request: main holds the example manifest, branch `pr` edits it.

The PR changes a config field and the dynamic batcher of `preprocess`, relabels
`text_classifier` and adds its version 4, removes the `classify_text` ensemble and adds an
`echo` model whose warmup has batch_size 0 (a warning).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.gitops.gitutil import commit_all, git, init_repo
from tests.helpers import REPO

ECHO = """
  echo:
    max_batch_size: 4
    input: [{name: X, data_type: FP32, dims: [2]}]
    output: [{name: Y, data_type: FP32, dims: [2]}]
    model_warmup:
      - {name: none, batch_size: 0, inputs: {X: {data_type: FP32, dims: [2], zero_data: true}}}
    versions:
      1: {source: examples/echo/1/model.py}
"""


def _lock(repo: Path) -> None:
    from tests.helpers import run_cli

    code, out, err = run_cli("lock", "models.yaml", cwd=repo)
    assert code == 0, out + err


def make_pr_repo(root: Path, head_manifest_edit=None, extra_targets: str = "", lock: bool = False) -> Path:
    """`extra_targets`: YAML lines added under `targets:` on both branches; `lock`: each branch
    commits its models.lock, as `triton-gitops lock` writes it (the PR's is up to date)."""
    repo = init_repo(root)
    base = (REPO / "models.yaml").read_text()
    local = "  local: {url: build/model_repository}\n"
    assert local in base
    (repo / "models.yaml").write_text(base.replace(local, local + extra_targets))
    shutil.copytree(REPO / "examples", repo / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "README.md").write_text("models\n")
    (repo / ".gitignore").write_text("build/\n__pycache__/\n")
    if lock:
        _lock(repo)
    commit_all(repo, "the example models")
    git(repo, "checkout", "-q", "-b", "pr")
    text = (repo / "models.yaml").read_text()
    text = text.replace("max_batch_size: 8\n    input: [{name: TEXT", "max_batch_size: 16\n    input: [{name: TEXT", 1)
    text = text.replace("dynamic_batching: {max_queue_delay_microseconds: 100}",
                        "dynamic_batching: {max_queue_delay_microseconds: 500, preferred_batch_size: [4, 8]}")
    text = text.replace("version_policy: {specific: [2, 3]}", "version_policy: {specific: [3, 4]}")
    text = text.replace("      3: {source: examples/text_classifier/3/model.py}   # a single file becomes 3/model.py\n",
                        "      3: {source: examples/text_classifier/3/model.py}   # a single file becomes 3/model.py\n"
                        "      4: {source: examples/text_classifier/4}\n")
    text = text[: text.index("  classify_text:")].rstrip("\n") + "\n" + ECHO
    if head_manifest_edit:
        text = head_manifest_edit(text)
    (repo / "models.yaml").write_text(text)
    shutil.copytree(repo / "examples/text_classifier/3", repo / "examples/text_classifier/4")
    with open(repo / "examples/text_classifier/4/model.py", "a") as handle:
        handle.write("# version 4: same model, retrained\n")
    (repo / "examples/text_classifier/labels.txt").write_text("negative\nneutral\npositive\n")
    (repo / "examples/echo/1").mkdir(parents=True)
    (repo / "examples/echo/1/model.py").write_text("# echo\n")
    if lock:
        _lock(repo)
    commit_all(repo, "pr: tune preprocess, text_classifier v4, echo; drop classify_text")
    return repo

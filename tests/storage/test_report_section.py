"""The PR report shows any change to where credentials go as a security-relevant change,
values as written (never expanded), escaped for Markdown."""
from __future__ import annotations

import json

from tests.gitops.prfixture import make_pr_repo
from tests.helpers import run_cli

BASE_TARGET = '  prod: {url: "s3://${TG_BUCKET}/triton"}\n'


def _with_endpoint(text: str) -> str:
    return text.replace(BASE_TARGET, '  prod: {url: "s3://${TG_BUCKET}/triton", storage_options: '
                                     '{client_kwargs: {endpoint_url: "https://minio.example:9000"}}}\n'
                                     '  odd: {url: "gs://b/m", storage_options: {endpoint_url: "http://x.example/`a|b`<!--"}}\n')


def test_a_new_endpoint_is_listed_as_a_security_relevant_change(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", "https://minio.example:9000")
    monkeypatch.setenv("TG_BUCKET", "secret-bucket-name")
    repo = make_pr_repo(tmp_path / "repo", head_manifest_edit=_with_endpoint, extra_targets=BASE_TARGET)
    code, out, err = run_cli("report", "models.yaml", "--base", "main", "--output", "json", cwd=repo)
    rows = {(s["change"], s["what"], s["endpoint"]) for s in json.loads(out)["security"]}
    assert rows == {("added", "target prod", "https://minio.example:9000"),
                    ("removed", "target prod", "https://s3.amazonaws.com"),
                    ("added", "target odd", "http://x.example")}
    code, out, err = run_cli("report", "models.yaml", "--base", "main", cwd=repo)
    section = out.split("### Security-relevant changes", 1)[1].split("###", 1)[0]
    assert "| added | `target prod` | `https://minio.example:9000` | the runner's AWS credentials |" in section
    assert "| removed | `target prod` | `https://s3.amazonaws.com` |" in section
    assert "secret-bucket-name" not in out
    # The refused endpoint is a problem of the head (it is not allowed), and still listed above.
    assert "target-endpoint" in out


def test_no_section_when_credentials_go_where_they_went(tmp_path):
    repo = make_pr_repo(tmp_path / "repo", extra_targets=BASE_TARGET)
    code, out, err = run_cli("report", "models.yaml", "--base", "main", cwd=repo)
    assert code == 0, err
    assert "Security-relevant" not in out

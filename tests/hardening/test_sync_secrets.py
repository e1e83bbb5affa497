"""Credentials never appear in anything the tool prints or writes.

Recognisable secret values are handed over every way a user would: S3 keys through ${ENV}
in storage_options and through the AWS environment, literal keys in a manifest target, an
Azure connection string with an AccountKey, a URL with user:password and a SAS-style
signature in its query (a version source over HTTP). Then every command runs, succeeding
and failing (unreachable endpoint, missing bucket, storage failing on every request), in
text and JSON, and everything it printed or wrote is scanned: stdout, stderr, the compiled
repository, models.lock, the target's files (state, lock), the download cache and its index.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.hardening.faultproxy import FaultProxy
from tests.helpers import REPO

pytestmark = pytest.mark.emulators

S3_KEY = "AKIAHARDENSECRETKEY7"
S3_SECRET = "hardenSECRET/s3+value=Zq9"
ENV_SECRET = "hardenENVSECRETaws/Qx4"
LITERAL_KEY = "AKIALITERALSECRETK3Y"
LITERAL_SECRET = "literalSECRETvalue/Wp2"
AZURE_KEY = "aGFyZGVuQVpVUkVTRUNSRVRrZXk9PQhardenAZ=="
HTTP_PASSWORD = "httpSECRETpassw0rd"
SAS_SIGNATURE = "sasSECRETsig%2Bvalue"
SECRETS = [S3_KEY, S3_SECRET, ENV_SECRET, LITERAL_KEY, LITERAL_SECRET, AZURE_KEY, HTTP_PASSWORD, SAS_SIGNATURE,
           "SECRETsig+value"]  # the signature as a server would decode it


def variants(secret: str) -> set:
    return {secret, quote(secret, safe=""), quote(secret)}


class Served:
    """A folder served over HTTP on loopback (any credentials accepted), for URL sources."""

    def __init__(self, folder: Path):
        handler = functools.partial(_Quiet, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def world(s3_emulator, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "model.py").write_bytes((REPO / "examples" / "text_classifier" / "3" / "model.py").read_bytes())
    http = Served(served)
    proxy = FaultProxy(s3_emulator.endpoint, rate=1.0, kinds=("500", "503", "drop")).start()
    bucket = s3_emulator.make_bucket()
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO / "examples", project / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((REPO / "models.yaml").read_text())
    url = f"http://user:${{TG_HTTP_PASSWORD}}@127.0.0.1:{http.port}/model.py?sv=2024&sig=${{TG_SAS}}"
    data["models"]["text_classifier"]["versions"][3] = {"source": url}
    s3_options = {"key": "${TG_KEY}", "secret": "${TG_SECRET}",
                  "client_kwargs": {"endpoint_url": s3_emulator.endpoint, "region_name": "us-east-1"}}
    data["targets"] = {
        "t": {"url": f"s3://{bucket}/models", "storage_options": s3_options},
        "literal": {"url": f"s3://{bucket}/literal", "storage_options": {
            "key": LITERAL_KEY, "secret": LITERAL_SECRET,
            "client_kwargs": {"endpoint_url": s3_emulator.endpoint, "region_name": "us-east-1"}}},
        "unreachable": {"url": f"s3://{bucket}/models", "storage_options": {
            **s3_options, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1"}}},
        "nobucket": {"url": "s3://no-such-bucket-hardening/models", "storage_options": s3_options},
        "failing": {"url": f"s3://{bucket}/models", "storage_options": {
            **s3_options, "client_kwargs": {"endpoint_url": proxy.endpoint, "region_name": "us-east-1"},
            "config_kwargs": {"retries": {"max_attempts": 1}}}},
        "userinfo": {"url": f"s3://{S3_KEY}:{quote(S3_SECRET, safe='')}@{bucket}/models"},
        "azure": {"url": "az://container/models", "storage_options": {"connection_string": (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURE_KEY};BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;")}},
    }
    (project / "models.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(REPO), TG_KEY=S3_KEY, TG_SECRET=S3_SECRET,
               AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=ENV_SECRET, AWS_EC2_METADATA_DISABLED="true",
               TG_HTTP_PASSWORD=HTTP_PASSWORD, TG_SAS=SAS_SIGNATURE,
               XDG_CACHE_HOME=str(tmp_path / "cache"), TRITON_GITOPS_CACHE_DIR=str(tmp_path / "artifacts"),
               # the workflow's storage policy allows every endpoint these targets name (docs/security.md)
               TRITON_GITOPS_ALLOWED_ENDPOINTS=f"{s3_emulator.endpoint} {proxy.endpoint} http://127.0.0.1:9")
    env.pop("TRITON_GITOPS_DEBUG", None)
    yield {"project": project, "env": env, "bucket": bucket, "emulator": s3_emulator, "tmp": tmp_path}
    proxy.stop()
    http.stop()


def run(world, *args) -> str:
    proc = subprocess.run([sys.executable, "-m", "compiler", *map(str, args)], cwd=world["project"],
                          env=world["env"], capture_output=True, text=True, timeout=300)
    return f"$ {' '.join(map(str, args))} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def written(world) -> dict:
    """Every file the runs may have written: project (repository, models.lock), caches, the bucket.
    Not the manifest: the literal keys of target `literal` are in it by the user's choice."""
    found = {}
    for base in (world["project"], world["tmp"] / "cache", world["tmp"] / "artifacts"):
        for path in Path(base).rglob("*"):
            rel = path.relative_to(base).parts
            if path.is_file() and rel[:1] != ("examples",) and rel != ("models.yaml",):
                found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    fs = world["emulator"].fs()
    for path in fs.find(world["bucket"]):
        found[f"s3://{path}"] = fs.cat_file(path).decode("utf-8", "replace")
    return found


def test_no_credential_appears_in_any_output_or_file(world):
    outputs = [
        run(world, "validate", "models.yaml"),
        run(world, "validate", "models.yaml", "--output", "json"),
        run(world, "lock", "models.yaml"),
        run(world, "compile", "models.yaml", "--out", "build/repo"),
        run(world, "compile", "models.yaml", "--out", "build/repo", "--dry-run", "--output", "json"),
        run(world, "plan", "models.yaml", "--target", "t"),
        run(world, "plan", "models.yaml", "--target", "t", "--output", "json"),
        run(world, "sync", "models.yaml", "--target", "t"),
        run(world, "sync", "models.yaml", "--target", "t", "--output", "json"),
        run(world, "sync", "models.yaml", "--target", "literal"),
    ]
    for failing in ("unreachable", "nobucket", "failing", "userinfo", "azure"):
        outputs.append(run(world, "sync", "models.yaml", "--target", failing))
        outputs.append(run(world, "plan", "models.yaml", "--target", failing, "--output", "json"))
    printed = "\n".join(outputs)
    assert "-> 0" in outputs[7], outputs[7]  # the sync to `t` itself worked: the scan saw a real run
    for output in outputs[10:]:  # the failing targets fail cleanly, in the tool's own words
        assert "-> 1" in output.split("\n", 1)[0] and "triton-gitops: internal error" not in output, output
    places = [(output.split("\n", 1)[0], output) for output in outputs] + list(written(world).items())
    leaks = [(secret, where) for secret in SECRETS for variant in variants(secret)
             for where, text in places if variant in text]
    assert leaks == [], "\n".join(f"{secret!r} in {where}" for secret, where in sorted(set(leaks))) + \
        "\n\n" + printed[-6000:]


def test_targets_command_redacts_credentials_in_urls(world):
    printed = run(world, "targets", "models.yaml") + run(world, "targets", "models.yaml", "--output", "json")
    assert "-> 0" in printed, printed
    leaks = [secret for secret in SECRETS for variant in variants(secret) if variant in printed]
    assert leaks == [], printed

"""What the prefetch helper guesses before it knows the target (compiler/fastpath/sdk_guess.py), and
how it is started from the raw command line (prefetch.start_early). Guesses only save time,
so what matters is that they are right in the usual cases and harmless in the others."""
from __future__ import annotations

import os
import ssl
import subprocess
import sys
import textwrap

import pytest

from compiler.fastpath import sdk_guess as early
from tests.helpers import REPO

MANIFEST = """\
version: 1
targets:   # where sync puts it
  local: {url: build/model_repository}
  prod:
    storage_options: {endpoint_url: "http://127.0.0.1:9000"}
    url: s3://models-prod/triton
  staging: {url: "gs://models-staging/triton"}
  "quoted": {url: 'az://container/prefix'}
  from_env:
    url: ${TARGET_URL}
  last:
    url: abfs://c/p
models:
  prod: {backend: python}
"""


@pytest.fixture()
def manifest(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(MANIFEST)
    return path


@pytest.mark.parametrize("name, scheme", [
    ("prod", "s3"),  # block style, url after another key
    ("staging", "gs"),  # flow style
    ("quoted", "az"),  # quoted key and value
    ("last", "abfs"),  # the last target
    ("local", ""),  # a path: no SDK to import
    ("from_env", ""),  # the scheme comes from the environment: no guess (not the next target's)
    ("absent", ""),
])
def test_the_scheme_of_a_named_target_is_read_from_the_manifest_text(manifest, name, scheme):
    assert early.guess(name, [manifest])[0] == scheme


def test_the_first_readable_manifest_counts(tmp_path, manifest):
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\ntargets:\n  prod: {url: gs://elsewhere/x}\n")
    assert early.guess("prod", [tmp_path / "missing.yaml", tmp_path, manifest, other])[0] == "s3"
    assert early.guess("prod", [other, manifest])[0] == "gs"
    assert early.guess("prod", [tmp_path / "missing.yaml"])[0] == ""


def test_a_manifest_without_targets_gives_no_guess(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("version: 1\nmodels:\n  prod:\n    url: s3://not/a/target\n")
    assert early.guess("prod", [path])[0] == ""


@pytest.mark.parametrize("before", [None, "/some/bundle.pem"])
def test_the_ca_file_is_hidden_only_during_the_import(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    else:
        monkeypatch.setenv("SSL_CERT_FILE", before)
    with early._no_ca_file():
        # What aiohttp builds at import: a default context that trusts fewer roots, not more.
        assert ssl.create_default_context().cert_store_stats()["x509_ca"] == 0
        assert ssl.create_default_context().verify_mode == ssl.CERT_REQUIRED
    assert os.environ.get("SSL_CERT_FILE") == before


def _python(script: str, *args, env=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=120)


def test_the_sdk_of_the_guessed_scheme_is_imported_and_aiohttp_leaves_the_env_alone(manifest):
    done = _python("""
        import os, sys
        from compiler.fastpath import sdk_guess as early
        before = os.environ.get("SSL_CERT_FILE")
        early.import_sdk("prod", [sys.argv[1]])
        import botocore.parsers
        print("s3fs" in sys.modules, "gcsfs" in sys.modules, os.environ.get("SSL_CERT_FILE") == before,
              getattr(botocore.parsers.DEFAULT_TIMESTAMP_PARSER, "quick", False))
        early.import_sdk("nosuchscheme://x/y", [])  # an unknown scheme: nothing, no error
        early.import_sdk("no-such-target", [sys.argv[1]])
    """, str(manifest))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True", "True"]


def test_quick_timestamps_agree_with_botocore_and_hand_it_the_rest():
    done = _python("""
        import botocore.parsers
        from compiler.fastpath import sdk_guess as early
        slow = botocore.parsers.DEFAULT_TIMESTAMP_PARSER
        early.quick_timestamps()
        quick = botocore.parsers.DEFAULT_TIMESTAMP_PARSER
        early.quick_timestamps()  # twice: still the one wrapper
        assert botocore.parsers.DEFAULT_TIMESTAMP_PARSER is quick and quick is not slow
        for value in ("2026-11-25T10:11:12.000Z", "2026-11-25T10:11:12+02:00", "2026-11-25T10:11:12",
                      "Wed, 25 Nov 2026 10:11:12 GMT", "1764065472"):
            assert quick(value) == slow(value), value
        print("ok")
    """)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


_START_EARLY = """
    import json, os, sys
    from compiler.fastpath import prefetch
    argv, later = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    prefetch.start_early(argv)
    forked = [(guess, helper.pid) for guess, helper in prefetch._early]
    helper = prefetch.start(*later) if later else None
    picked = helper is not None and forked and helper.pid == forked[0][1]
    if helper is not None:
        helper.cancel()
    print(json.dumps({"forked": [guess for guess, _ in forked], "picked": bool(picked),
                      "new": helper is not None and not picked, "left": len(prefetch._early)}))
"""


@pytest.mark.parametrize("argv, later, expected", [
    (["sync", "models.yaml", "--target", "s3://b/p"], ["s3://b/p"], {"forked": ["s3://b/p"], "picked": True}),
    (["plan", "--target=prod", "--prune"], ["prod"], {"forked": ["prod"], "picked": True}),
    (["sync", "--target", "a", "--target", "b"], ["b"], {"forked": ["b"], "picked": True}),  # the last one wins
    # A guess argparse disagrees with: stopped, and the command's own helper started instead.
    (["sync", "--target", "prod", "--", "--target", "x"], ["staging"], {"forked": ["prod"], "new": True}),
    (["sync", "--target", "./build/repo"], [], {"forked": []}),  # a path: no helper
    (["sync", "--target", "file:///tmp/x"], [], {"forked": []}),
    (["sync"], [], {"forked": []}),  # the manifest's local target
    (["compile", "--target", "s3://b/p"], [], {"forked": []}),  # not a command that reads a target
    (["--version"], [], {"forked": []}),
])
def test_the_helper_is_forked_from_the_raw_arguments_and_picked_up_once(argv, later, expected):
    import json

    done = _python(_START_EARLY, json.dumps(argv), json.dumps(later), env={"TRITON_GITOPS_PREFETCH": "1"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["left"] == 0 or not later
    assert {key: seen[key] for key in expected} == expected


def test_no_helper_when_prefetch_is_off():
    import json

    done = _python(_START_EARLY, json.dumps(["sync", "--target", "s3://b/p"]), "[]",
                   env={"TRITON_GITOPS_PREFETCH": "0"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["forked"] == []

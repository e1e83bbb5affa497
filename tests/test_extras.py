"""A plain install has no cloud SDK: a cloud URL then says which extra to install."""
from __future__ import annotations

import subprocess
import sys

import pytest

from compiler.extras import extra_for
from tests.helpers import REPO

# Run in a child whose `import s3fs` / `gcsfs` / `adlfs` fails, as on a plain install
# (a None entry in sys.modules is how Python itself marks a module as unimportable).
_CHILD = """
import sys
for name in ("s3fs", "gcsfs", "adlfs"):
    sys.modules[name] = None
from compiler.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("url, extra", [("s3://bucket/models", "s3"), ("gs://bucket/models", "gcs"),
                                        ("az://container/models", "azure")])
def test_a_cloud_target_without_its_sdk_names_the_extra(tmp_path, url, extra):
    proc = subprocess.run([sys.executable, "-c", _CHILD, "plan", str(REPO / "models.yaml"), "--target", url],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "TRITON_GITOPS_PREFETCH": "0", "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    assert f"needs the [{extra}] extra" in proc.stderr
    assert f"pip install 'triton-gitops[{extra}]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_extra_for_each_scheme():
    assert [extra_for(u) for u in ("S3://b", "abfs://c", "gcs://b", "file:///x", "models/")] == [
        "s3", "azure", "gcs", "", ""]

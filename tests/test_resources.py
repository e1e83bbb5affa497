"""compiler/resources.py: the templates are found in a source checkout and inside a built wheel."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from compiler.resources import templates_root

REPO = Path(__file__).resolve().parents[1]


def test_a_checkout_finds_the_templates_beside_the_package(monkeypatch):
    monkeypatch.delenv("TRITON_GITOPS_TEMPLATES", raising=False)
    assert templates_root() == REPO / "templates"


def test_a_wheel_carries_the_templates_and_finds_them_inside_the_package(tmp_path):
    # Built offline as a runner's pip would (hatchling is in the test extra), then unpacked:
    # an unpacked wheel is the layout pip installs into site-packages. About 15 s, nearly all
    # of it the wheel build: the only way to see what a wheel really carries.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path / "dist"), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("triton_gitops-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "compiler/templates/init/models.yaml.j2" in names
    assert any(n.startswith("compiler/templates/report/") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if k != "TRITON_GITOPS_TEMPLATES"}
    env["PYTHONPATH"] = str(site)
    code = "from compiler.resources import templates_root; import compiler; print(compiler.__file__); " \
           "print(templates_root())"
    found = subprocess.run([sys.executable, "-c", code],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split("\n")
    assert found[0].startswith(str(site)), found  # the unpacked wheel's code ran, not the checkout's
    assert Path(found[1]) == site / "compiler" / "templates"
    assert (Path(found[1]) / "report").is_dir()

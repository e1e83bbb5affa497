"""gs:// and az:// sources (and s3:// again, for the same table): folder and file, pinned or not."""
import pytest

from compiler.artifacts import file_digest as files_mod
from compiler.artifacts.digest import folder_digest
from tests.artifacts.manifests import files_of, sha256, write_manifest
from tests.helpers import run_cli, run_json

pytestmark = pytest.mark.emulators


@pytest.fixture(params=["s3", "gcs", "azure"])
def store(request):
    return request.getfixturevalue(f"{request.param}_emulator")


def _url(store, path):
    return f"{'az' if store.protocol == 'abfs' else store.protocol}://{path}"


def test_folder_and_file_sources_pinned_and_not(tmp_path, store, monkeypatch):
    bucket = store.make_bucket()
    fs = store.fs()
    fs.pipe_file(f"{bucket}/ov/1/model.xml", b"<net/>")
    fs.pipe_file(f"{bucket}/ov/1/model.bin", b"\1" * 3000)
    fs.pipe_file(f"{bucket}/single.onnx", b"one file")
    pin = folder_digest([("model.xml", sha256(b"<net/>")), ("model.bin", sha256(b"\1" * 3000))])
    options = store.storage_options()
    manifest = write_manifest(tmp_path, {
        1: {"source": _url(store, f"{bucket}/ov/1"), "sha256": pin, "storage_options": options},
        2: {"source": _url(store, f"{bucket}/single.onnx"), "storage_options": options},
    })
    downloads = []
    real = files_mod.download
    monkeypatch.setattr(files_mod, "download", lambda fs, origin, *a, **kw: downloads.append(origin.url)
                        or real(fs, origin, *a, **kw))
    code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
    assert code == 0, out + err
    got = files_of(tmp_path / "out")
    assert (got["m/1/model.xml"], got["m/1/model.bin"], got["m/2/model.onnx"]) == (b"<net/>", b"\1" * 3000,
                                                                                    b"one file")
    assert len(downloads) == 3
    assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
    assert len(downloads) == 3  # the stores' stamps were unchanged: everything came from the cache


def test_pin_mismatch(tmp_path, store):
    bucket = store.make_bucket()
    store.fs().pipe_file(f"{bucket}/m.onnx", b"actual")
    manifest = write_manifest(tmp_path, {1: {"source": _url(store, f"{bucket}/m.onnx"), "sha256": sha256(b"pinned"),
                                             "storage_options": store.storage_options()}})
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out")
    assert code == 1
    (problem,) = report["problems"]
    assert problem["rule"] == "source-digest-mismatch"
    assert f"{bucket}/m.onnx" in problem["message"]
    assert sha256(b"actual") in problem["message"] and sha256(b"pinned") in problem["message"]
    assert not (tmp_path / "out").exists()

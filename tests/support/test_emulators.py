"""The storage emulators really behave like their clouds through fsspec."""

import pytest

pytestmark = pytest.mark.emulators


@pytest.fixture(params=["s3", "gcs", "azure", "seaweedfs"])
def emulator(request):
    # Resolve lazily so each session fixture starts only when its case runs.
    return request.getfixturevalue(f"{request.param}_emulator")


def test_write_list_read(emulator):
    bucket = emulator.make_bucket()
    fs = emulator.fs()
    fs.pipe(f"{bucket}/repo/model/config.pbtxt", b'name: "model"\n')
    fs.pipe(f"{bucket}/repo/model/1/model.py", b"# hi\n")

    assert sorted(fs.find(f"{bucket}/repo")) == [
        f"{bucket}/repo/model/1/model.py",
        f"{bucket}/repo/model/config.pbtxt",
    ]
    assert fs.cat(f"{bucket}/repo/model/config.pbtxt") == b'name: "model"\n'

    # A second, independent client (as the CLI would create) sees the data.
    import fsspec

    with fsspec.open(emulator.url(f"{bucket}/repo/model/1/model.py"), "rb",
                     **emulator.storage_options()) as f:
        assert f.read() == b"# hi\n"


def test_make_bucket_is_idempotent(emulator):
    name = emulator.make_bucket()
    assert emulator.make_bucket(name) == name
    assert emulator.fs().exists(name)


def test_env_describes_endpoint(emulator):
    env = emulator.env()
    assert env and all(isinstance(v, str) for v in env.values())
    assert emulator.endpoint.startswith("http://127.0.0.1:")


def test_env_alone_reaches_emulator(emulator, tmp_path):
    """A subprocess given only env() (no storage options) finds the data:
    this is how the CLI under test is run."""
    import os
    import subprocess
    import sys

    bucket = emulator.make_bucket()
    emulator.fs().pipe(f"{bucket}/hello.txt", b"hello")
    code = ("import fsspec, sys; fs = fsspec.filesystem(sys.argv[1]);"
            "sys.stdout.write(fs.cat(sys.argv[2]).decode())")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR", "CLOUD_STORAGE"))}
    env.update(emulator.env())
    out = subprocess.run([sys.executable, "-c", code, emulator.protocol, f"{bucket}/hello.txt"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == "hello"

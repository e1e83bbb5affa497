"""tritonserver loads a model repository straight from the S3 / GCS emulators.

This proves the emulators are good enough for end-to-end tests of "sync the
compiled repository to a bucket, point Triton at it".

* S3: Triton takes `s3://HOST:PORT/bucket/prefix` and talks plain HTTP to
  HOST:PORT, with credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
* GCS: Triton's google-cloud-cpp client honours CLOUD_STORAGE_EMULATOR_ENDPOINT;
  GCE_METADATA_ROOT points at a closed port so credential discovery fails fast.
* Azure is not covered: Triton builds the blob endpoint as
  https://<account>.blob.core.windows.net from an `as://account/container`
  URL, so it cannot be pointed at Azurite.
"""

import pytest
from support.triton import infer_add_one, write_add_one_model

pytestmark = [pytest.mark.triton, pytest.mark.emulators]


@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_triton_loads_repository_from_bucket(kind, request, triton_server, tmp_path):
    emulator = request.getfixturevalue(f"{kind}_emulator")
    write_add_one_model(tmp_path / "repo")
    bucket = emulator.make_bucket()
    fs = emulator.fs()
    fs.put(f"{tmp_path / 'repo'}/", f"{bucket}/models/", recursive=True)
    assert fs.exists(f"{bucket}/models/add_one/1/model.py")

    server = triton_server(emulator.triton_url(f"{bucket}/models"), env=emulator.env())

    assert server.get("/v2/models/add_one/ready")[0] == 200
    assert infer_add_one(server, x=[3.0, 4.0]) == (200, [4.0, 5.0])

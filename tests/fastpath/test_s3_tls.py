"""The plain S3 reader and writer over https (s3_raw.py, s3_store.py) on loopback: moto serving
TLS with a certificate made here. They verify it as botocore does: with AWS_CA_BUNDLE the
requests go through and answer what the SDK answers; with any other trust (the default bundle)
the handshake fails, and not a byte of a request, signed or not, reaches the server."""
from __future__ import annotations

import datetime
import ipaddress
import tempfile
from pathlib import Path

import pytest

from compiler.fastpath import s3_raw, s3_route, s3_store
from compiler.storage.stores import Bounded
from compiler.sync.read import read_target
from compiler.sync.state import STATE_NAME
from compiler.sync.target import Target
from tests.support.emulators import S3Emulator

pytestmark = pytest.mark.emulators


class TlsS3Emulator(S3Emulator):
    """moto's server on https://127.0.0.1 with a self-signed certificate for that address."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.cert, self.key_file = folder / "cert.pem", folder / "key.pem"
        _self_signed(self.cert, self.key_file)

    def command(self):
        return [*super().command(), "-c", str(self.cert), "-k", str(self.key_file)]

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def storage_options(self):
        options = super().storage_options()
        options["client_kwargs"]["verify"] = str(self.cert)  # the SDK's own trust, for seeding and comparing
        return options


def _self_signed(cert: Path, key_file: Path) -> None:
    """A certificate for 127.0.0.1 signed by its own key (cryptography: moto[server] needs it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


@pytest.fixture(scope="module")
def tls_s3():
    with tempfile.TemporaryDirectory() as folder, TlsS3Emulator(Path(folder)) as emulator:
        yield emulator


def _plain_target(emulator, root: str) -> Target:
    """The target as the helper receives it: static keys and the endpoint in its options."""
    options = {"key": emulator.key, "secret": emulator.secret,
               "client_kwargs": {"endpoint_url": emulator.endpoint, "region_name": emulator.region}}
    return Target("", f"s3://{root}", None, "", False, endpoint=emulator.endpoint, options=options, timeout=20.0)


def test_with_the_ca_bundle_it_reads_and_writes_over_tls(tls_s3):
    bucket = tls_s3.make_bucket()
    sdk = tls_s3.fs()
    sdk.pipe({f"{bucket}/repo/{STATE_NAME}": b'{"format": 1, "files": {}}', f"{bucket}/repo/m/1/model.py": b"x = 1\n"})
    environ = {"AWS_CA_BUNDLE": str(tls_s3.cert)}
    target = _plain_target(tls_s3, f"{bucket}/repo")
    where = s3_route.route(target, environ)
    assert where is not None and where.scheme == "https" and where.cafile == str(tls_s3.cert)

    seen = s3_raw.read_target(target, environ=environ)
    assert seen is not None, "the plain path applies to a TLS endpoint it can verify"
    opened = Target("", f"s3://{bucket}/repo", Bounded(sdk, 20.0), f"{bucket}/repo", False,
                    endpoint=tls_s3.endpoint, options=tls_s3.storage_options(), timeout=20.0)
    assert seen == read_target(opened)
    assert seen[0] == b'{"format": 1, "files": {}}' and set(seen[1].files) == {"m/1/model.py"}

    store = s3_store.PlainS3(where, 20.0)
    store.pipe_file(f"{bucket}/repo/m/2/model.py", b"x = 2\n")
    assert sdk.cat_file(f"{bucket}/repo/m/2/model.py") == b"x = 2\n"
    assert store.cat_file(f"{bucket}/repo/m/1/model.py") == b"x = 1\n"
    # moto logs each request it answers (what the next test looks for, and must not find)
    assert f"PUT /{bucket}/repo/m/2/model.py" in Path(tls_s3.log_path).read_text(errors="replace")


@pytest.mark.parametrize("trust", ["the default bundle", "another certificate"])
def test_a_certificate_it_cannot_verify_stops_the_handshake(tls_s3, tmp_path, trust):
    bucket = tls_s3.make_bucket()
    environ: dict = {}
    if trust == "another certificate":
        other = TlsS3Emulator(tmp_path)  # only makes a certificate; never started
        environ["AWS_CA_BUNDLE"] = str(other.cert)
    target = _plain_target(tls_s3, f"{bucket}/repo")
    where = s3_route.route(target, environ)
    assert where is not None and where.scheme == "https"
    log_before = Path(tls_s3.log_path).read_text(errors="replace")
    # The reader leaves what it cannot verify to the SDK, which refuses it in its own words.
    assert s3_raw.read_target(target, environ=environ) is None
    with pytest.raises(OSError) as raised:
        s3_store.PlainS3(where, 5.0).pipe_file(f"{bucket}/repo/x", b"secret payload")
    text = f"{type(raised.value).__name__}: {raised.value}"
    assert "certificate verify failed" in text.lower(), text
    assert tls_s3.secret not in text
    requests = Path(tls_s3.log_path).read_text(errors="replace")[len(log_before):]
    assert "GET /" not in requests and "PUT /" not in requests, requests
    assert not tls_s3.fs().exists(f"{bucket}/repo/x")

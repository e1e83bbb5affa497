"""One small interface over tritonclient's HTTP and gRPC clients, for what rollout, status,
smoke and perf need: the repository index, load/unload, a model's config, inference.

tritonclient is imported only when a command talks to a server (compiler/proto.py explains
the cost). Everything the server says comes back as plain data or a `ModelConfig`; every
failure becomes a `TritonError` carrying Triton's own message.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from google.protobuf import json_format

from compiler.errors import FatalError
from compiler.proto import ModelConfig

HTTP, GRPC = "http", "grpc"


class TritonError(Exception):
    """A request Triton refused or that did not reach it; `message` is Triton's text."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message.strip()


@dataclass(frozen=True)
class Endpoint:
    protocol: str  # http | grpc
    address: str  # host:port, what tritonclient wants
    ssl: bool = False

    def __str__(self) -> str:
        return f"{self.protocol}{'s' if self.ssl else ''}://{self.address}"


def parse_url(url: str) -> Endpoint:
    """`http://h:8000`, `https://h`, `grpc://h:8001`, `grpcs://h`, or a bare `h:8000` (HTTP)."""
    text = url if "://" in url else f"http://{url}"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "grpc", "grpcs") or not parts.hostname:
        raise FatalError(f"--triton-url {url!r}: expected http://HOST:PORT or grpc://HOST:PORT",
                         "Triton listens on 8000 (HTTP) and 8001 (gRPC) by default")
    protocol = GRPC if scheme.startswith("grpc") else HTTP
    port = parts.port or (8001 if protocol == GRPC else 8000)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Endpoint(protocol, f"{host}:{port}", scheme in ("https", "grpcs"))


@dataclass
class IndexEntry:
    name: str
    version: str  # "" for a model Triton has never tried to load
    state: str  # READY, LOADING, UNLOADING, UNAVAILABLE or ""
    reason: str = ""


def _error_text(exc) -> str:
    message = exc.message() if callable(getattr(exc, "message", None)) else str(exc)
    return message or type(exc).__name__


class TritonClient:
    def __init__(self, url: str, timeout: float = 300.0):
        self.endpoint = parse_url(url)
        self.timeout = timeout
        self._client = None

    @property
    def client(self):
        if self._client is None:
            if self.endpoint.protocol == GRPC:
                import tritonclient.grpc as module  # noqa: PLC0415 - tritonclient ~250 ms: only the URL's protocol, only when a server is called

                self._client = module.InferenceServerClient(self.endpoint.address, ssl=self.endpoint.ssl)
            else:
                import tritonclient.http as module  # noqa: PLC0415 - tritonclient ~250 ms: only the URL's protocol, only when a server is called

                # A load blocks until the model is ready or failed: allow it the whole timeout.
                self._client = module.InferenceServerClient(self.endpoint.address, ssl=self.endpoint.ssl,
                                                            connection_timeout=min(self.timeout, 30.0),
                                                            network_timeout=self.timeout)
        return self._client

    def _call(self, method: str, *args, **kwargs):
        from tritonclient.utils import InferenceServerException  # noqa: PLC0415 - tritonclient ~140 ms: only when a server is called

        if self.endpoint.protocol == GRPC and method in ("load_model", "unload_model",
                                                         "get_model_repository_index", "get_model_config"):
            kwargs["client_timeout"] = self.timeout
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except InferenceServerException as exc:
            raise TritonError(_error_text(exc)) from None
        except (OSError, TimeoutError) as exc:  # refused, reset, DNS, timeouts (gevent raises socket errors)
            raise TritonError(f"{type(exc).__name__}: {exc}") from None

    def check_live(self) -> None:
        try:
            live = self._call("is_server_live")
        except TritonError as exc:
            raise FatalError(f"Triton at {self.endpoint} is not reachable: {exc.message}",
                             "check --triton-url (HTTP on 8000, gRPC on 8001 by default) and that the server runs")
        if not live:
            raise FatalError(f"Triton at {self.endpoint} is not live")

    def metadata(self) -> dict:
        """What the server says about itself: {"name": its --id, "version", "extensions"}."""
        found = self._call("get_server_metadata")
        if self.endpoint.protocol == GRPC:
            return {"name": found.name, "version": found.version, "extensions": sorted(found.extensions)}
        return {"name": str(found.get("name", "")), "version": str(found.get("version", "")),
                "extensions": sorted(map(str, found.get("extensions", [])))}

    def index(self) -> list:
        if self.endpoint.protocol == GRPC:
            response = self._call("get_model_repository_index")
            return [IndexEntry(m.name, m.version, m.state, m.reason) for m in response.models]
        return [IndexEntry(m.get("name", ""), str(m.get("version", "")), m.get("state", ""), m.get("reason", ""))
                for m in self._call("get_model_repository_index")]

    def loaded(self) -> list:
        """(name, version) of every version being served, from the statistics extension. The
        index lists only models with a folder in the repository; a model whose folder was
        deleted (a pruning sync) stays loaded and shows up only here."""
        if self.endpoint.protocol == GRPC:
            return [(m.name, m.version) for m in self._call("get_inference_statistics").model_stats]
        stats = self._call("get_inference_statistics").get("model_stats", [])
        return [(m.get("name", ""), str(m.get("version", ""))) for m in stats]

    def load(self, name: str, config: str | None = None, files: dict | None = None) -> None:
        """Load `name` from the repository, or with `config` (JSON) and `files` ({"file:<path>":
        bytes}) from the request alone (Triton's repository API override, restore.py)."""
        if config is None:
            self._call("load_model", name)
        else:
            self._call("load_model", name, config=config, files=files or None)

    def unload(self, name: str) -> None:
        self._call("unload_model", name)

    def config(self, name: str):
        """The config the server runs for `name`, as a ModelConfig (defaults filled in by Triton)."""
        if self.endpoint.protocol == GRPC:
            config = ModelConfig()
            config.CopyFrom(self._call("get_model_config", name).config)
            return config

        return json_format.ParseDict(self._call("get_model_config", name), ModelConfig(), ignore_unknown_fields=True)

    def infer(self, name: str, inputs: list, outputs: list, **options):
        """`inputs`: [(name, numpy array, Triton datatype)]; returns {output name: array}.
        `options`: tritonclient's infer keywords (sequence_id, sequence_start, ...)."""
        module = self.module()
        tensors = []
        for input_name, array, datatype in inputs:
            tensor = module.InferInput(input_name, list(array.shape), datatype)
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        requested = [module.InferRequestedOutput(o) for o in outputs] or None
        result = self._call("infer", name, tensors, outputs=requested, **options)
        return {o: result.as_numpy(o) for o in outputs}

    def module(self):
        if self.endpoint.protocol == GRPC:
            import tritonclient.grpc as module  # noqa: PLC0415 - tritonclient ~250 ms: only the URL's protocol
        else:
            import tritonclient.http as module  # noqa: PLC0415 - tritonclient ~250 ms: only the URL's protocol
        return module

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing is best effort; the process is about to end anyway
                pass
            self._client = None

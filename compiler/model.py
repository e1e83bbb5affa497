"""The manifest as typed, in-memory objects: what every later stage works from.

Paths in here are document paths (`("models", "m", "versions", 1)`) so that any stage
can still point a user at the line that caused a problem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from tritonclient.grpc.model_config_pb2 import ModelConfig  # generated protobuf: Any to mypy

    from compiler.artifacts.resolve import Artifact
    from compiler.triton_releases import Release


@dataclass
class VersionSpec:
    number: int
    source: str  # as written in the manifest
    local_path: Optional[Path]  # resolved against the manifest's folder; None for a URL or an empty folder
    sha256: str = ""
    doc_path: tuple = ()
    remote: bool = False  # `source` is a URL (s3://, gs://, az://, https://, ...)
    storage_options: dict = field(default_factory=dict)  # fsspec options for a URL source, ${ENV} unexpanded
    artifact: Optional[Artifact] = None  # compiler.artifacts.Artifact once resolved: files, digests, local bytes


@dataclass
class FileSpec:
    name: str  # POSIX path inside the model folder
    source: str
    local_path: Path
    doc_path: tuple = ()


@dataclass
class VariantSpec:
    """One entry of `configs:`: compiled to configs/<name>.pbtxt (see compiler/manifest/variants.py)."""

    name: str
    config: Optional[ModelConfig]  # the merged config, None if it did not parse
    config_dict: dict  # the canonical dict it was parsed from
    written: dict  # the variant as written in the manifest, to tell its own fields from the model's
    doc_path: tuple = ()  # ("models", model, "configs", name)
    warmups: list = field(default_factory=list)  # [WarmupSource] of a model_warmup the variant sets itself


@dataclass
class ModelSpec:
    name: str
    config: ModelConfig
    config_dict: dict  # the canonical dict the message was parsed from
    versions: dict = field(default_factory=dict)  # int -> VersionSpec
    files: dict = field(default_factory=dict)  # name -> FileSpec
    warmups: list = field(default_factory=list)  # [WarmupSource]
    inherited: set = field(default_factory=set)  # top-level keys that came from `defaults`
    # Every version number the manifest declares, including ones whose source was refused,
    # so that Triton's version rules do not pile a "no version" on top of the real problem.
    declared_versions: set = field(default_factory=set)
    doc_path: tuple = ()
    tuning: dict = field(default_factory=dict)  # measured figures (`tuning:`), for the PR report; not compiled
    variants: dict = field(default_factory=dict)  # name -> VariantSpec (`configs:`), sorted by name

    def doc_path_of(self, config_path: tuple) -> tuple:
        """Map a path inside the config to where it is written in the manifest."""
        if config_path and config_path[0] in self.inherited:
            return ("defaults",) + tuple(config_path)
        return self.doc_path + tuple(config_path)

    @property
    def default_model_filename(self) -> str:
        return default_model_filename(self.config)


@dataclass
class TargetSpec:
    name: str
    url: str
    storage_options: dict = field(default_factory=dict)
    doc_path: tuple = ()
    triton: Optional[Release] = None  # the oldest Triton release serving it (triton_releases.Release), if said
    servers: list = field(default_factory=list)  # Triton URLs reading it (rollout/status; compiler/rollout/fleet.py)
    config_name: str = ""  # the config variant its servers load (`--model-config-name`), "" for config.pbtxt


@dataclass
class Manifest:
    path: Path
    root: Path  # folder relative sources are resolved against
    models: dict = field(default_factory=dict)  # name -> ModelSpec, sorted by name
    targets: dict = field(default_factory=dict)  # name -> TargetSpec
    external_models: list = field(default_factory=list)
    triton: Optional[Release] = None  # the manifest's `triton:` (its oldest release), if said
    server: dict = field(default_factory=dict)  # `server:` {backends, repository_agents, batch_strategies}
    # Every local path a source, file or warmup file names, found or not, in the order looked up:
    # what the manifest's answer depends on outside its own text (compiler/fastpath/verdict.py).
    local_sources: list = field(default_factory=list)

    @property
    def has_remote_sources(self) -> bool:
        """A version read from a URL: its answer depends on a store, so nothing keeps it."""
        return any(v.remote for m in self.models.values() for v in m.versions.values())


# Triton's default model file name per platform/backend, used when a version's source is
# a single file (model_repository.md, "Model Files").
_DEFAULT_FILENAMES = {
    "tensorrt_plan": "model.plan", "tensorrt": "model.plan",
    "onnxruntime_onnx": "model.onnx", "onnxruntime": "model.onnx",
    "pytorch_libtorch": "model.pt", "pytorch": "model.pt",
    "tensorflow_graphdef": "model.graphdef", "tensorflow_savedmodel": "model.savedmodel",
    "tensorflow": "model.savedmodel",
    "openvino": "model.xml", "python": "model.py", "dali": "model.dali", "fil": "xgboost.model",
}


def default_model_filename(config) -> str:
    if config.default_model_filename:
        return config.default_model_filename
    return _DEFAULT_FILENAMES.get(config.backend) or _DEFAULT_FILENAMES.get(config.platform) or "model"

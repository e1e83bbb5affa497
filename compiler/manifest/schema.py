"""Every schema of the manifest, in one module.

The model entry is derived from the `ModelConfig` descriptor that tritonclient ships, so
every field, enum value and oneof of the running Triton's config language is covered
without a hand-written copy. On top of it come the keys only a GitOps manifest needs
(`files`, `versions`, `targets`, ...) and the documented short forms (`FP32` for
`TYPE_FP32`, `latest: 2`, `parameters: {KEY: value}`, warmup `data:`/`file:`).
Every property carries a `description` (editors show it on hover): Triton's own text for
proto fields (compiler/manifest/docs.py), written here for the manifest's own keys.
`schemas/models.schema.json` is this module's output, committed; a test keeps it fresh.
"""
from __future__ import annotations

import json

from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.manifest.docs import Releases, describe_field, message_doc
from compiler.proto import ModelConfig, is_repeated, model_config_pb2

SCHEMA_ID = "https://triton-gitops.dev/schemas/models.schema.json"
# Model and target names: a folder name Triton accepts that cannot be `.`/`..`, hidden (the
# tool's own files at the repository root start with a dot) or too long for a file system.
NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$"
_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_INT64 = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
_UINT64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
_SCALARS: dict[int, dict] = {
    FD.TYPE_STRING: {"type": "string"}, FD.TYPE_BYTES: {"type": "string"}, FD.TYPE_BOOL: {"type": "boolean"},
    FD.TYPE_FLOAT: {"type": "number"}, FD.TYPE_DOUBLE: {"type": "number"},
    FD.TYPE_INT32: _INT32, FD.TYPE_SINT32: _INT32, FD.TYPE_SFIXED32: _INT32,
    FD.TYPE_UINT32: _UINT32, FD.TYPE_FIXED32: _UINT32,
    FD.TYPE_INT64: _INT64, FD.TYPE_SINT64: _INT64, FD.TYPE_SFIXED64: _INT64,
    FD.TYPE_UINT64: _UINT64, FD.TYPE_FIXED64: _UINT64,
}
# Short forms accepted on top of the proto's own spelling (see compiler/manifest/normalize.py).
DATA_TYPE_SHORT = [v.name[len("TYPE_"):] for v in model_config_pb2.DataType.DESCRIPTOR.values]
WARMUP_INPUT = "inference.ModelWarmup.Input"
VERSION_POLICY = "inference.ModelVersionPolicy"
MODEL_PARAMETER = "inference.ModelParameter"

MAX_RANK = 64
# A Triton version ("2.51", "2.51.0") or container tag ("24.10"); which ones exist is checked
# against compiler/data/triton_releases.json when the manifest is built.
# A variant is the file configs/<name>.pbtxt and the value of `--model-config-name`: a plain
# file name (no '/', not hidden, not `.`/`..`), as for model names.
VARIANT_NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}$"
TRITON_RELEASE_PATTERN = r"^(2\.[0-9]{1,3}(\.[0-9]{1,3})?|[0-9]{2}\.[0-9]{2})$"
_SHAPE_FIELDS = {"dims", "shape"}

# Editors show `examples` beside the description, and `triton-gitops explain` puts them in
# its models.yaml snippet; fields not listed get a value made from their type.
_PROTO_EXAMPLES = {
    "inference.ModelConfig.platform": "onnxruntime_onnx",
    "inference.ModelConfig.backend": "onnxruntime",
    "inference.ModelConfig.max_batch_size": 8,
    "inference.ModelConfig.default_model_filename": "model.onnx",
    "inference.ModelInput.name": "INPUT0",
    "inference.ModelInput.dims": [3, 224, 224],
    "inference.ModelOutput.name": "OUTPUT0",
    "inference.ModelOutput.dims": [1000],
    "inference.ModelOutput.label_filename": "labels.txt",
    "inference.ModelInstanceGroup.count": 2,
    "inference.ModelInstanceGroup.gpus": [0],
    "inference.ModelDynamicBatching.preferred_batch_size": [4, 8],
    "inference.ModelDynamicBatching.max_queue_delay_microseconds": 100,
    "inference.ModelSequenceBatching.max_sequence_idle_microseconds": 5000000,
    "inference.ModelEnsembling.Step.model_name": "preprocess",
    "inference.ModelEnsembling.Step.model_version": -1,
}

# Config variants (configs/<name>.pbtxt): a variant's definitions are the ModelConfig ones
# with `null` allowed for every key (it removes the key the model has), under this prefix.
VARIANT_PREFIX = "variant:"
_REMOVE = {"type": "null", "description": "null removes this key from the variant (the model's value is not "
                                          "inherited)"}


def _def_name(descriptor) -> str:
    return descriptor.full_name


def _field_schema(field, defs, releases) -> dict:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        value = _single_schema(value_field, defs, releases)
        if value_field.message_type is not None and value_field.message_type.full_name == MODEL_PARAMETER:
            value = {"anyOf": [{"type": ["string", "number", "boolean"],
                                "description": "short form of {string_value: ...}"}, value]}
        return {"type": "object", "additionalProperties": value}
    single = _single_schema(field, defs, releases)
    if is_repeated(field):
        if field.name in _SHAPE_FIELDS:
            # A cap no real tensor reaches (numpy stops at 64 dimensions) that keeps a
            # million-entry `dims` from costing seconds and hundreds of MB downstream.
            return {"type": "array", "items": single, "maxItems": MAX_RANK}
        return {"type": "array", "items": single}
    return single


def _single_schema(field, defs, releases) -> dict:
    if field.type == FD.TYPE_MESSAGE:
        _message_schema(field.message_type, defs, releases)
        return {"$ref": f"#/$defs/{_def_name(field.message_type)}"}
    if field.type == FD.TYPE_ENUM:
        names = [v.name for v in field.enum_type.values]
        if field.enum_type.full_name == "inference.DataType":
            names = names + DATA_TYPE_SHORT
        return {"enum": names}
    return dict(_SCALARS[field.type])


def _message_schema(descriptor, defs, releases) -> None:
    name = _def_name(descriptor)
    if name in defs:
        return
    defs[name] = {}  # placeholder: messages may refer to themselves
    properties = {}
    for field in descriptor.fields:
        properties[field.name] = _field_schema(field, defs, releases)
        properties[field.name]["description"] = describe_field(field, releases)
        if field.full_name in _PROTO_EXAMPLES:
            properties[field.name]["examples"] = [_PROTO_EXAMPLES[field.full_name]]
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if message_doc(descriptor):
        schema["description"] = message_doc(descriptor)
    exclusive = []
    for oneof in descriptor.oneofs:
        members = [f.name for f in oneof.fields]
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                exclusive.append({"not": {"type": "object", "required": [a, b]},
                                  "description": f"oneof {oneof.name}: {a} and {b} exclude each other"})
    if exclusive:
        schema["allOf"] = exclusive
    defs[name] = schema


def _add_short_forms(defs) -> None:
    warmup_input = defs[WARMUP_INPUT]
    warmup_input["properties"]["data"] = {
        "type": "array", "description": "literal values in row-major order (nested lists are flattened); "
        "the compiler writes them to warmup/ as Triton's raw format and sets input_data_file",
        "examples": [[0.5, 1.5, 2.5]]}
    warmup_input["properties"]["file"] = {
        "type": "string", "minLength": 1, "description": "a raw warmup data file (relative to the manifest) copied into warmup/",
        "examples": ["warmup/INPUT0.raw"]}
    policy = defs[VERSION_POLICY]
    defs[VERSION_POLICY] = {"description": policy.get("description", ""), "anyOf": [
        {"enum": ["all"], "description": "short form of {all: {}}"},
        {"type": "object", "additionalProperties": False, "minProperties": 1, "maxProperties": 1, "properties": {
            "latest": {"type": "integer", "minimum": 1, "description": "short form of {latest: {num_versions: N}}"},
            "specific": {"type": "array", "items": _INT64, "description": "short form of {specific: {versions: [...]}}"},
        }},
        policy,
    ]}


def _model_entry(defs) -> dict:
    entry = json.loads(json.dumps(defs[_def_name(ModelConfig.DESCRIPTOR)]))
    name = entry["properties"]["name"]
    name["description"] = f"{name['description']}\n\nIn models.yaml: optional; must equal the key under `models`."
    entry["properties"]["files"] = {
        "type": "object", "description": "files placed in the model folder: {name in the folder: source path}; "
        "paths are relative to the manifest, and `label_filename` must name one of these files",
        "propertyNames": {"pattern": r"^(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255})*$"},
        "additionalProperties": {"type": "string", "minLength": 1,
                                 "description": "the source file, relative to the manifest",
                                 "examples": ["models/text_classifier/labels.txt"]},
        "examples": [{"labels.txt": "models/text_classifier/labels.txt"}],
    }
    entry["properties"]["versions"] = {
        "type": "object", "description": "version folders: {N: {source: file or folder}}; N is 0 or a positive "
        "integer without leading zeros (Triton ignores a folder like 01), and an ensemble without `versions` gets "
        "an empty 1/",
        "propertyNames": {"pattern": VERSION_PATTERN},
        "additionalProperties": {"$ref": "#/$defs/version"},
    }
    entry["properties"]["tuning"] = {"$ref": "#/$defs/tuning", "description": _TUNING_TEXT}
    entry["properties"]["configs"] = {
        "type": "object", "propertyNames": {"pattern": VARIANT_NAME_PATTERN},
        "additionalProperties": {"$ref": f"#/$defs/{VARIANT_PREFIX}{_def_name(ModelConfig.DESCRIPTOR)}",
                                 "description": "a config variant: ModelConfig fields merged over the model's "
                                                "(mappings merge key by key, lists and scalars replace the "
                                                "model's value whole, null removes a key)"},
        "description": "config variants, compiled to configs/<name>.pbtxt beside config.pbtxt; a server started "
                       "with `tritonserver --model-config-name=<name>` loads the variant instead (Triton 2.46+). "
                       "See docs/config-variants.md",
        "examples": [{"cpu-small": {"instance_group": [{"kind": "KIND_CPU", "count": 1}]}}],
    }
    return entry


def _nullable(node):
    """A copy of a definition where every property and map value may also be null, and
    references point at the variant copies."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
            out[key] = "#/$defs/" + VARIANT_PREFIX + value[len("#/$defs/"):]
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _or_null(prop) for name, prop in value.items()}
        elif key == "additionalProperties" and isinstance(value, dict):
            out[key] = _or_null(value)
        else:
            out[key] = _nullable(value)
    return out


def _or_null(prop: dict) -> dict:
    inner = _nullable({k: v for k, v in prop.items() if k not in ("description", "examples")})
    out = {"anyOf": [dict(_REMOVE), inner]}
    for key in ("description", "examples"):
        if key in prop:
            out[key] = prop[key]
    return out


def _variant_defs(defs) -> dict:
    """The ModelConfig definitions for a variant (the manifest keys `files`, `versions`,
    `tuning`, `configs` belong to the model, and `name` to the key under `models`)."""
    model = _def_name(ModelConfig.DESCRIPTOR)
    out = {}
    for name, schema in defs.items():
        if name.startswith("inference."):
            out[VARIANT_PREFIX + name] = _nullable(schema)
    root = out[VARIANT_PREFIX + model]
    root["properties"].pop("name", None)
    root["description"] = "a config variant: any ModelConfig field, merged over the model's own"
    return out


# A version folder name Triton reads as exactly that version: 0, or no leading zero; int64.
VERSION_PATTERN = r"^(0|[1-9][0-9]{0,18})$"

_TUNING_TEXT = ("measured performance of this model's config, e.g. by Model Analyzer (`triton-gitops "
                "import-analyzer` writes it); not compiled into config.pbtxt, shown in the PR report beside the "
                "model's changes")


def _tuning() -> dict:
    """The measured figures of a model's config (written by `import-analyzer`); not part of
    the compiled config, shown in the PR report."""
    number = {"type": "number", "minimum": 0}
    count = {"type": "integer", "minimum": 1}
    return {
        "type": "object", "additionalProperties": False, "required": ["throughput_per_sec", "p99_latency_ms"],
        "description": _TUNING_TEXT,
        "properties": {
            "source": {"type": "string", "description": "what measured it: model_analyzer, or a name of yours",
                       "examples": ["model_analyzer"]},
            "config": {"type": "string", "description": "the measured config variant, as the tool named it",
                       "examples": ["bert_config_3"]},
            "objective": {"type": "string", "description": "what the config was chosen for: throughput, latency, "
                                                           "gpu-memory",
                          "examples": ["throughput"]},
            "constraints": {"type": "object", "additionalProperties": {"type": "number"},
                            "description": "the limits the chosen measurement met: {max_p99_ms, min_throughput, "
                                           "max_gpu_memory_mb: value}",
                            "examples": [{"max_p99_ms": 20}]},
            "batch_size": dict(count, description="the client's batch size during the measurement", examples=[8]),
            "concurrency": dict(count, description="requests in flight during the measurement", examples=[16]),
            "request_rate": dict(count, description="requests per second sent during the measurement (instead of "
                                                    "a concurrency)", examples=[256]),
            "throughput_per_sec": dict(number, description="measured throughput, inferences per second",
                                       examples=[1520.4]),
            "p99_latency_ms": dict(number, description="measured 99th percentile latency, milliseconds",
                                   examples=[12.8]),
            "gpu_memory_mb": dict(number, description="GPU memory in use during the measurement, MB (summed over "
                                                      "the GPUs)", examples=[2210.5]),
            "gpus": {"type": "array", "items": {"type": "string", "description": "a GPU's name"},
                     "description": "the GPUs it was measured on", "examples": [["NVIDIA A100-SXM4-40GB"]]},
        },
    }


def build_schema(releases: Releases = None) -> dict:
    """The manifest's schema. `releases` ({field full name: "2.46"}, see compiler/manifest/docs.py)
    makes each ModelConfig field's description say which Triton release added it."""
    defs: dict = {}
    _message_schema(ModelConfig.DESCRIPTOR, defs, releases)
    _add_short_forms(defs)
    defs.update(_variant_defs(defs))
    defs["model"] = _model_entry(defs)
    defaults = json.loads(json.dumps(defs["model"]))
    for key in ("name", "versions", "tuning", "configs"):
        defaults["properties"].pop(key)
    defs["defaults"] = defaults
    defs["tuning"] = _tuning()
    defs["version"] = {
        "type": "object", "additionalProperties": False, "required": ["source"],
        "properties": {
            "source": {"type": "string", "minLength": 1,
                       "description": "a file (placed under the backend's default model file name) or a folder "
                                      "(copied as the version folder): a path relative to the manifest, or an "
                                      "s3://, gs://, az://, https:// (any fsspec) URL",
                       "examples": ["s3://ml-artifacts/bert/2/"]},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                       "description": "expected digest: sha256 of a file, or of a folder's `sha256sum` listing "
                                      "(see README, Model artifacts); a mismatch stops compile and sync",
                       "examples": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]},
            "storage_options": {"type": "object",
                                "description": "fsspec storage options for a URL source (endpoint, credentials "
                                               "profile, ...); ${ENV} is expanded if "
                                               "TRITON_GITOPS_ALLOWED_ENV allows it",
                                "examples": [{"client_kwargs": {"endpoint_url": "${S3_ENDPOINT}"}}]},
        },
        "description": "one version folder of a model and where its files come from",
    }
    defs["triton"] = {
        "anyOf": [{"type": "string", "pattern": TRITON_RELEASE_PATTERN}, {"type": "number"}, {
            "type": "array", "items": {"type": "string", "pattern": TRITON_RELEASE_PATTERN}}],
        "description": "the Triton release that serves the models: version (\"2.51\") or container tag "
                       "(\"24.10\", quoted: unquoted YAML reads 24.10 as the number 24.1); a list when several "
                       "servers share the repository. Fields newer than the oldest are errors."}
    defs["server"] = {
        "type": "object", "additionalProperties": False,
        "description": "what the servers have installed beyond the standard Triton containers",
        "properties": {
            "backends": {"type": "array", "items": {"type": "string", "minLength": 1},
                         "description": "custom backends (backends/<name>/ on the server)"},
            "repository_agents": {"type": "array", "items": {"type": "string", "minLength": 1},
                                  "description": "custom repository agents (repoagents/<name>/ on the server)"},
            "batch_strategies": {"type": "array", "items": {"type": "string", "minLength": 1},
                                 "description": "custom batch strategy libraries, as TRITON_BATCH_STRATEGY_PATH "
                                                "names them"},
        },
    }
    defs["target"] = {
        "type": "object", "additionalProperties": False, "required": ["url"],
        "properties": {
            "triton": {"$ref": "#/$defs/triton", "description": "the Triton release(s) serving this target, if "
                                                                "not the manifest's", "examples": ["25.01"]},
            "config_name": {"type": "string", "pattern": VARIANT_NAME_PATTERN,
                            "description": "the config variant this target's servers load (they run "
                                           "`tritonserver --model-config-name=<name>`): models with that entry "
                                           "under `configs` are served from configs/<name>.pbtxt, the others "
                                           "from config.pbtxt; the PR report shows the config served per target",
                            "examples": ["cpu-small"]},
            "url": {"type": "string", "minLength": 1,
                    "description": "a path (relative to the manifest), file://, s3://, gs://, az:// or abfs:// "
                                   "URL; ${ENV} and ${ENV:-default} are expanded at run time, only for "
                                   "variables TRITON_GITOPS_ALLOWED_ENV allows",
                    "examples": ["s3://${MODELS_BUCKET}/triton"]},
            "storage_options": {"type": "object",
                                "description": "fsspec storage options (s3fs, gcsfs, adlfs), never credentials: "
                                               "those come from each cloud's own chain; ${ENV} is expanded if "
                                               "TRITON_GITOPS_ALLOWED_ENV allows it",
                                "examples": [{"client_kwargs": {"region_name": "eu-west-1"}}]},
            "servers": {"type": "array",
                        "items": {"type": "string", "minLength": 1,
                                  "pattern": "^(dns\\+)?(https?|grpcs?)://[^/?#]+$"},
                        "description": "the Triton servers reading this target, for `rollout` and `status` with "
                                       "`--target NAME`: http(s):// or grpc(s):// URLs, or dns+grpc:// / dns+http:// "
                                       "for every address of a DNS name (docs/fleet.md)",
                        "examples": [["dns+grpc://triton-headless.ml.svc.cluster.local:8001"]]},
        },
        "description": "a place `sync` keeps an exact copy of the compiled model repository",
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "triton-gitops manifest (models.yaml)",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "models"],
        "properties": {
            "version": {"const": 1, "description": "manifest format version (required; 1)"},
            "triton": {"$ref": "#/$defs/triton",
                       "description": "the Triton release that serves the models (see docs/triton-versions.md)",
                       "examples": ["24.10"]},
            "server": {"$ref": "#/$defs/server",
                       "description": "custom backends, repository agents and batch strategies the servers have "
                                      "installed"},
            "defaults": {"$ref": "#/$defs/defaults",
                         "description": "ModelConfig fields merged into every model: a top-level key the model "
                                        "sets itself replaces the default's value whole"},
            "external_models": {"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN},
                                "description": "models Triton serves that this manifest does not manage; "
                                               "ensemble steps may name them and rollout leaves them loaded",
                                "examples": [["shared_tokenizer"]]},
            "targets": {"type": "object", "propertyNames": {"pattern": NAME_PATTERN},
                        "additionalProperties": {"$ref": "#/$defs/target"},
                        "description": "where `sync` puts the repository: {target name: {url, storage_options}}; "
                                       "`--target NAME` picks one, a local folder is the default"},
            "models": {"type": "object", "propertyNames": {"pattern": NAME_PATTERN},
                       "additionalProperties": {"$ref": "#/$defs/model"},
                       "description": "the models of the repository (required): {model name: every ModelConfig "
                                      "field, plus `versions` and `files`}; the key is the model's folder name"},
        },
        "$defs": defs,
    }


def schema_text(releases: Releases = None) -> str:
    return json.dumps(build_schema(releases), indent=2, sort_keys=True) + "\n"

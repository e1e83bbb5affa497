"""What every rule module shares: problem constructors, names, data types, and how Triton
decides which backend serves a config (so rules can reason about the backend a config will get).

Messages quote Triton core's own wording (model_config_utils.cc and friends) wherever Triton
has one, including its trailing " for <model>" where Triton appends it, so that a user can
search the text they see here in Triton's logs, issues and docs.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Optional

from compiler.errors import ERROR, WARNING, Problem
from compiler.proto import model_config_pb2

WILDCARD = -1

# platform -> the backend Triton core pairs it with (GetBackendTypeFromPlatform).
PLATFORM_BACKEND = {
    "tensorrt_plan": "tensorrt",
    "tensorflow_graphdef": "tensorflow",
    "tensorflow_savedmodel": "tensorflow",
    "onnxruntime_onnx": "onnxruntime",
    "pytorch_libtorch": "pytorch",
    "torch_aoti": "pytorch",
}
ENSEMBLE = "ensemble"
KNOWN_PLATFORMS = sorted(PLATFORM_BACKEND) + [ENSEMBLE]
# Backends whose platform Triton checks against the backend (GetBackendType); any other backend
# name is a user-provided backend and accepts any platform.
CHECKED_BACKENDS = {"tensorrt", "tensorflow", "onnxruntime", "pytorch"}

# File names in the first version folder from which Triton picks a backend when the config
# names neither platform nor backend (AutoCompleteBackendFields). (backend, platform, is_dir)
MODEL_FILES = {
    "model.savedmodel": ("tensorflow", "tensorflow_savedmodel", True),
    "model.graphdef": ("tensorflow", "tensorflow_graphdef", False),
    "model.plan": ("tensorrt", "tensorrt_plan", False),
    "model.onnx": ("onnxruntime", "onnxruntime_onnx", None),  # file, or folder for a large model
    "model.xml": ("openvino", "", None),
    "model.pt": ("pytorch", "pytorch_libtorch", False),
    "model.pt2": ("pytorch", "torch_aoti", False),
    "model.py": ("python", "", None),
}
# Backends that can fill missing tensor data types / dims from the model file (auto-complete);
# libtorch models carry no such metadata and an ensemble has no model file.
NO_AUTO_COMPLETE = {"pytorch", ""}


def is_repeated(fd) -> bool:
    """FieldDescriptor.is_repeated where protobuf has it (label() is deprecated there)."""
    flag = getattr(type(fd), "is_repeated", None)
    if flag is not None:
        return bool(fd.is_repeated)
    return fd.label == fd.LABEL_REPEATED


def is_map(fd) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def error(rule: str, message: str, path=(), hint: str = "") -> Problem:
    return Problem(message, rule, tuple(path), ERROR, hint=hint)


def warning(rule: str, message: str, path=(), hint: str = "") -> Problem:
    return Problem(message, rule, tuple(path), WARNING, hint=hint)


def model_name(config, ctx) -> str:
    """The name Triton uses: the config's, else the folder's (Triton fills it from the folder)."""
    return config.name or ctx.model_name or ""


def for_model(config, ctx) -> str:
    """Triton's " for <model>" suffix, when the name is known."""
    name = model_name(config, ctx)
    return f" for {name}" if name else ""


def type_name(value: int) -> str:
    return model_config_pb2.DataType.Name(value)


def triton_type(value: int) -> str:
    """Data type as Triton prints it in request errors: TYPE_FP32 -> FP32, TYPE_STRING -> BYTES."""
    name = type_name(value).removeprefix("TYPE_")
    return "BYTES" if name == "STRING" else name




def suggest(word: str, choices) -> str:
    """"did you mean 'x'?" for a close match, or "". Long words are not compared (difflib is quadratic)."""
    word = str(word)
    if len(word) > 200:
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in choices if len(str(c)) <= 200], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def dims_text(dims) -> str:
    return "[" + ",".join(str(d) for d in dims) + "]"


@dataclass
class Backend:
    """The platform/backend Triton ends up with, and where that came from."""

    platform: str
    backend: str
    source: str  # "config", "default_model_filename", "model file <path>", "model name", ""
    # True when lint cannot see what Triton would look at (model files, folder name).
    unknowable: bool = False

    @property
    def resolved(self) -> bool:
        return bool(self.backend) or self.platform == ENSEMBLE


def first_version_content(files) -> tuple:
    """(lexically first subfolder or "", {entry name: is_dir} inside it): what Triton inspects."""
    if files is None:
        return "", {}
    subdirs = sorted({f.split("/", 1)[0] for f in files if "/" in f})
    if not subdirs:
        return "", {}
    first = subdirs[0]
    content: dict = {}
    for f in files:
        if f.startswith(first + "/"):
            head, _, tail = f[len(first) + 1:].partition("/")
            content[head] = content.get(head, False) or bool(tail)
    return first, content


def resolve_backend(config, ctx) -> Backend:
    """Triton's AutoCompleteBackendFields, offline: platform and backend after Triton fills them in."""
    platform, backend, filename = config.platform, config.backend, config.default_model_filename
    first_dir, content = first_version_content(ctx.files)

    def file_backend(wanted_backends) -> Optional[tuple]:
        if platform or filename or not first_dir:
            return None
        for name, (be, plat, is_dir) in MODEL_FILES.items():
            if be in wanted_backends and name in content and (is_dir is None or content[name] == is_dir):
                return be, plat, f"model file {first_dir}/{name}"
        return None

    source = "config" if (platform or backend) else ""
    # TensorFlow needs a platform; it may come from the file name.
    if not platform and backend in ("", "tensorflow"):
        for name in ("model.savedmodel", "model.graphdef"):
            if filename == name:
                platform, source = MODEL_FILES[name][1], "default_model_filename"
        if not platform and not filename:
            found = file_backend({"tensorflow"})
            if found:
                platform, source = found[1], found[2]
    if platform in ("tensorflow_savedmodel", "tensorflow_graphdef"):
        return Backend(platform, backend or "tensorflow", source or "config")
    for be, plat, fname in (("tensorrt", "tensorrt_plan", "model.plan"), ("onnxruntime", "onnxruntime_onnx", "model.onnx")):
        if not backend:
            if platform == plat:
                backend = be
            elif filename == fname:
                backend, source = be, "default_model_filename"
            else:
                found = file_backend({be})
                if found:
                    backend, source = be, found[2]
        if backend == be:
            return Backend(platform or plat, backend, source or "config")
    if not backend:
        if filename == "model.xml":
            backend, source = "openvino", "default_model_filename"
        else:
            found = file_backend({"openvino"})
            if found:
                backend, source = "openvino", found[2]
    if backend == "openvino":
        return Backend(platform, backend, source or "config")
    if not backend:
        if platform in ("pytorch_libtorch", "libtorch", "torch_aoti"):
            backend = "pytorch"
        elif filename in ("model.pt", "model.pt2"):
            backend, source = "pytorch", "default_model_filename"
        else:
            found = file_backend({"pytorch"})
            if found:
                backend, platform, source = "pytorch", found[1], found[2]
    if backend == "pytorch":
        return Backend(platform or "pytorch_libtorch", backend, source or "config")
    if not backend:
        if filename == "model.py":
            backend, source = "python", "default_model_filename"
        else:
            found = file_backend({"python"})
            if found:
                backend, source = "python", found[2]
    if backend == "python":
        return Backend(platform, backend, source or "config")
    if not backend and not platform and not filename:
        # A custom backend named by the model (folder) name: `model.identity` -> backend `identity`.
        name = ctx.model_name
        if "." in name:
            return Backend("", name.split(".", 1)[1], f"model name '{name}'")
        return Backend("", "", "", unknowable=ctx.files is None or not ctx.model_name)
    return Backend(platform, backend, source)


def tensor_names(config, kind: str) -> set:
    return {io.name for io in getattr(config, kind)}


def control_types(config) -> dict:
    """Sequence-batching control tensor name -> the data type Triton feeds it."""
    out: dict = {}
    if not config.HasField("sequence_batching"):
        return out
    for ci in config.sequence_batching.control_input:
        for control in ci.control:
            if control.int32_false_true:
                out[ci.name] = model_config_pb2.TYPE_INT32
            elif control.fp32_false_true:
                out[ci.name] = model_config_pb2.TYPE_FP32
            elif control.bool_false_true:
                out[ci.name] = model_config_pb2.TYPE_BOOL
            elif control.data_type:
                out[ci.name] = control.data_type
            else:
                out.setdefault(ci.name, model_config_pb2.TYPE_INVALID)
    return out

"""instance_group (Triton's ValidateInstanceGroup), checked without knowing the GPUs of the host
that will serve the model.

Offline, KIND_GPU is never an error for want of a GPU (that depends on the host), and a GPU id is
judged only by what no host can have: a negative id, or an id of MAX_GPUS or more (the largest
single hosts carry 16-20 GPUs; the QA case `invalid_gpu` uses 42).
"""
from __future__ import annotations

from compiler.proto import model_config_pb2
from compiler.rules.base import ENSEMBLE, error, model_name, resolve_backend, warning

MAX_GPUS = 32
_Group = model_config_pb2.ModelInstanceGroup
_CUDA = "GPUs with at least the minimum required CUDA compute compatibility"


def _group(group, index, name, platform, platform_known) -> list:
    out = []
    path = ("instance_group", index)
    label = f"instance group {group.name or f'{name}_{index}'} of model {name}"
    kind = _Group.Kind.Name(group.kind)
    if group.gpus and group.kind in (_Group.KIND_CPU, _Group.KIND_MODEL):
        out.append(error("instance-kind-gpus", f"{label} has kind {kind} but specifies one or more GPUs",
                         path + ("gpus",), hint="remove `gpus`, or use kind KIND_GPU"))
    elif group.kind in (_Group.KIND_GPU, _Group.KIND_AUTO):
        for j, gpu in enumerate(group.gpus):
            if gpu < 0 or gpu >= MAX_GPUS:
                if group.kind == _Group.KIND_AUTO:
                    message = (f"{label} lists gpu id {gpu}, which no host has; Triton then turns the KIND_AUTO group "
                               "into KIND_CPU and fails: has kind KIND_CPU but specifies one or more GPUs")
                else:
                    why = "is not a GPU id" if gpu < 0 else f"would need a host with {gpu + 1} GPUs"
                    message = (f"{label} specifies invalid or unsupported gpu id {gpu}. {_CUDA} are numbered from 0 "
                               f"on each host; {gpu} {why}")
                out.append(error("instance-gpu-id", message, path + ("gpus", j),
                                 hint="GPU ids count from 0 on the serving host (as nvidia-smi lists them)"))
    if group.count < 0:
        out.append(warning("instance-count", f"{label} has count {group.count}; Triton treats a count below 1 as "
                           "unset and uses the default", path + ("count",), hint="set count: 1 or more"))
    if group.profile and platform_known and platform != "tensorrt_plan":
        out.append(error("instance-profile", f"{label} and platform {platform} specifies profile field which is only "
                         "supported for TensorRT models", path + ("profile",), hint="remove `profile`"))
    elif group.profile:
        for j, profile in enumerate(group.profile):
            if not profile.isdigit():
                out.append(error("instance-profile", f"{label} and platform {platform} specifies invalid profile "
                                 f"{profile}. The field should contain the string representation of a non-negative "
                                 "integer.", path + ("profile", j), hint="use \"0\", \"1\", ..."))
    return out


def check(config, ctx) -> list:
    if config.platform == ENSEMBLE or config.HasField("ensemble_scheduling"):
        return []  # instance groups do not apply to ensembles; the ensemble rules report them
    name = model_name(config, ctx)
    backend = resolve_backend(config, ctx)
    out = []
    seen: dict = {}
    for index, group in enumerate(config.instance_group):
        out.extend(_group(group, index, name, backend.platform, backend.resolved))
        if group.name:
            if group.name in seen:
                out.append(warning("instance-name-duplicate", f"instance group name '{group.name}' is used twice "
                                   f"(instance_group[{seen[group.name]}] and [{index}])", ("instance_group", index, "name"),
                                   hint="give each group its own name; instance names are derived from it"))
            seen.setdefault(group.name, index)
    return out

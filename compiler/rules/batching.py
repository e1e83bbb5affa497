"""max_batch_size, the dynamic batcher (preferred sizes, priority levels, queue policies,
preserve_ordering) and batch_input / batch_output (Triton's ValidateModelConfig, ValidateBatchIO)."""
from __future__ import annotations

from typing import Any

from compiler.proto import model_config_pb2
from compiler.rules.base import error, for_model, suggest, tensor_names, warning

_DELAY = model_config_pb2.ModelQueuePolicy.DELAY
_BATCH_INPUT_KINDS = model_config_pb2.BatchInput.Kind
_BATCH_OUTPUT_KINDS = model_config_pb2.BatchOutput.Kind


def _max_batch_size(config, suffix) -> list:
    if config.max_batch_size < 0:
        return [error("max-batch-size", f"'max_batch_size' must be non-negative value{suffix}", ("max_batch_size",),
                      hint="0 disables batching; a positive value is the largest batch the model accepts")]
    return []


def _dynamic_batching(config, suffix) -> list:
    if not config.HasField("dynamic_batching"):
        return []
    out = []
    db = config.dynamic_batching
    base = ("dynamic_batching",)
    for j, size in enumerate(db.preferred_batch_size):
        if size <= 0:
            out.append(error("batching-preferred-size", f"dynamic batching preferred size must be positive{suffix}",
                             base + ("preferred_batch_size", j), hint=f"{size} is not a batch size"))
        elif size > config.max_batch_size:
            out.append(error("batching-preferred-size",
                             f"dynamic batching preferred size must be <= max batch size{suffix}",
                             base + ("preferred_batch_size", j),
                             hint=f"{size} exceeds max_batch_size {config.max_batch_size}"))
    levels = db.priority_levels
    if levels:
        if db.default_priority_level == 0 or db.default_priority_level > levels:
            out.append(error("batching-default-priority",
                             f"default priority level must be in range [1, {levels}]{suffix}",
                             base + ("default_priority_level",),
                             hint=f"set default_priority_level to a level between 1 and {levels}"))
        for key in sorted(db.priority_queue_policy):
            if key == 0 or key > levels:
                out.append(error("batching-priority-level",
                                 f"priority queue policy must have priority level in range [1, {levels}]{suffix}",
                                 base + ("priority_queue_policy", str(key)),
                                 hint=f"priority level {key} does not exist; levels are 1..{levels}"))
    elif db.default_priority_level or db.priority_queue_policy:
        out.append(warning("batching-priority-ignored",
                           "default_priority_level / priority_queue_policy are ignored because priority_levels is 0",
                           base + ("priority_levels",), hint="set priority_levels, or remove the priority settings"))
    if db.preserve_ordering:
        if levels > 1:
            out.append(error("batching-preserve-ordering",
                             f"Only one priority level is allowed when 'preserve_ordering' is true{suffix}",
                             base + ("priority_levels",), hint="use one priority level or drop preserve_ordering"))
        policies: list[tuple[tuple, Any]] = [(base + ("default_queue_policy",), db.default_queue_policy)]
        policies += [(base + ("priority_queue_policy", str(k)), db.priority_queue_policy[k])
                     for k in sorted(db.priority_queue_policy)]
        for path, policy in policies:
            if policy.default_timeout_microseconds != 0 and policy.timeout_action == _DELAY:
                out.append(error("batching-preserve-ordering",
                                 f"Queue policy can not have DELAY as timeout action when 'preserve_ordering' is "
                                 f"true{suffix}", path + ("timeout_action",),
                                 hint="use timeout_action REJECT, or drop preserve_ordering"))
    return out


def _batch_io(config, suffix) -> list:
    out = []
    inputs, outputs = tensor_names(config, "input"), tensor_names(config, "output")
    for i, bi in enumerate(config.batch_input):
        path = ("batch_input", i)
        kind = _BATCH_INPUT_KINDS.Name(bi.kind)
        if len(bi.source_input) != 1:
            out.append(error("batch-input-source-count",
                             f"batch input kind '{kind}' expects 1 source input, got {len(bi.source_input)}{suffix}",
                             path + ("source_input",), hint="name exactly one model input in `source_input`"))
        if bi.data_type not in (model_config_pb2.TYPE_INT32, model_config_pb2.TYPE_FP32):
            out.append(error("batch-input-data-type", f"batch input data type must be TYPE_INT32 or TYPE_FP32{suffix}",
                             path + ("data_type",), hint="set `data_type: TYPE_INT32` or `TYPE_FP32`"))
        for j, source in enumerate(bi.source_input):
            if source not in inputs:
                out.append(error("batch-input-source-unknown", f"unknown source input name '{source}'{suffix}",
                                 path + ("source_input", j), hint=suggest(source, inputs) or "name a model input"))
    for i, bo in enumerate(config.batch_output):
        path = ("batch_output", i)
        kind = _BATCH_OUTPUT_KINDS.Name(bo.kind)
        if len(bo.source_input) != 1:
            out.append(error("batch-output-source-count",
                             f"batch output kind '{kind}' expects 1 source input, got {len(bo.source_input)}{suffix}",
                             path + ("source_input",), hint="name exactly one model input in `source_input`"))
        for j, source in enumerate(bo.source_input):
            if source not in inputs:
                out.append(error("batch-output-source-unknown", f"unknown source input name '{source}'{suffix}",
                                 path + ("source_input", j), hint=suggest(source, inputs) or "name a model input"))
        seen = set()
        for j, target in enumerate(bo.target_name):
            if target not in outputs:
                out.append(error("batch-output-target-unknown", f"unknown target output name '{target}'{suffix}",
                                 path + ("target_name", j), hint=suggest(target, outputs) or "name a model output"))
            elif target in seen:
                out.append(error("batch-output-target-duplicate",
                                 f"target output name '{target}' can only be specified once{suffix}",
                                 path + ("target_name", j), hint="remove the repeated name"))
            seen.add(target)
    return out


def check(config, ctx) -> list:
    suffix = for_model(config, ctx)
    return _max_batch_size(config, suffix) + _dynamic_batching(config, suffix) + _batch_io(config, suffix)

"""Everything else: response cache vs decoupled, `${...}` placeholders left in strings, label
files, model_metrics (Triton's ValidateModelMetrics and MetricReporterConfig::ParseConfig).

Placeholders: a `${name}` left in a string value is an unrendered template (TensorRT-LLM's
fill_template.py style). A WARNING on both paths (manifest and lint): Triton loads such a config
and hands the string to the backend verbatim - the corpus has a READY model with
`string_value: "${n_mels}"` (sherpa f5_tts, VERIFIED.tsv: READY on Triton 2.51), and the judge's
param_placeholder cases load (tests/judge). An ERROR for backend tensorrtllm, whose templates
these are and whose parameters (batch sizes, paths, flags) are meant to be filled in (not judged:
the judging server has only the python backend).
"""
from __future__ import annotations

import posixpath
import re

from compiler.rules.base import error, is_map, is_repeated, model_name, warning

PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
CUSTOMIZABLE_METRICS = {"nv_inference_first_response_histogram_ms"}


def strings(message, path=()):
    """(path, text) of every string value and string map key set in `message`."""
    for field, value in message.ListFields():
        here = path + (field.name,)
        if is_map(field):
            value_field = field.message_type.fields_by_name["value"]
            for key in sorted(value, key=str):
                if isinstance(key, str):
                    yield here + (key,), key
                item = value[key]
                if value_field.message_type is not None:
                    yield from strings(item, here + (str(key),))
                elif isinstance(item, str):
                    yield here + (str(key),), item
        elif is_repeated(field):
            for i, item in enumerate(value):
                if field.message_type is not None:
                    yield from strings(item, here + (i,))
                elif isinstance(item, str):
                    yield here + (i,), item
        elif field.message_type is not None:
            yield from strings(value, here)
        elif isinstance(value, str):
            yield here, value


def _placeholders(config, ctx) -> list:
    make = error if config.backend == "tensorrtllm" else warning
    out = []
    for path, text in strings(config):
        found = PLACEHOLDER.findall(text)
        if found:
            out.append(make("placeholder", f"unrendered template placeholder {found[0]} left in {text!r}", path,
                            hint="substitute the value (e.g. run the template tool) before deploying; Triton passes "
                                 "the text on literally"))
    return out


def _labels(config, ctx) -> list:
    out = []
    for i, io in enumerate(config.output):
        label = io.label_filename
        if not label:
            continue
        path = ("output", i, "label_filename")
        normal = posixpath.normpath(label)
        if posixpath.isabs(label) or normal == ".." or normal.startswith("../"):
            out.append(error("label-file", f"label file '{label}' of output '{io.name}' is outside the model folder",
                             path, hint="label files live in the model folder, next to config.pbtxt"))
        elif ctx.files is not None and normal not in ctx.files:
            out.append(error("label-file", f"label file '{label}' of output '{io.name}' does not exist in the model "
                             "folder", path, hint="add the file next to config.pbtxt, or fix `label_filename`"))
    return out


def _response_cache(config, ctx) -> list:
    if config.response_cache.enable and config.model_transaction_policy.decoupled:
        return [error("response-cache-decoupled",
                      f"Response Cache does not currently support model {model_name(config, ctx)} with 'decoupled' "
                      "transaction policy. Please disable the response cache.", ("response_cache", "enable"),
                      hint="remove `response_cache`, or make the model non-decoupled")]
    return []


def _metrics(config) -> list:
    out = []
    for i, control in enumerate(config.model_metrics.metric_control):
        path = ("model_metrics", "metric_control", i)
        if not control.HasField("metric_identifier"):
            out.append(error("metrics-identifier", "metric control must specify 'metric_identifier'", path,
                             hint="add `metric_identifier { family: \"nv_inference_first_response_histogram_ms\" }`"))
        elif not control.metric_identifier.family:
            out.append(error("metrics-identifier", "metric identifier must specify non-empty 'family'",
                             path + ("metric_identifier", "family"), hint="name the metric family to customise"))
        elif control.metric_identifier.family not in CUSTOMIZABLE_METRICS:
            out.append(warning("metrics-family", f"Metric family '{control.metric_identifier.family}' in "
                               "'metric_identifier' is not a customizable metric in Triton core.",
                               path + ("metric_identifier", "family"),
                               hint="customizable: " + ", ".join(sorted(CUSTOMIZABLE_METRICS)) + "; Triton ignores it"))
        if not control.HasField("histogram_options"):
            out.append(error("metrics-histogram", "metric control must specify 'histogram_options'", path,
                             hint="add `histogram_options { buckets: [ ... ] }`"))
        elif not control.histogram_options.buckets:
            out.append(error("metrics-buckets", "histogram options must specify non-empty 'buckets'",
                             path + ("histogram_options", "buckets"), hint="list the bucket boundaries, e.g. [ 1, 2, 4, 8 ]"))
        else:
            buckets = list(control.histogram_options.buckets)
            for j in range(1, len(buckets)):
                if buckets[j] <= buckets[j - 1]:
                    out.append(error("metrics-buckets", f"histogram bucket boundaries must be strictly ascending: "
                                     f"{buckets[j]} follows {buckets[j - 1]}",
                                     path + ("histogram_options", "buckets", j),
                                     hint="Prometheus rejects unsorted or repeated boundaries"))
                    break
    return out


def check(config, ctx) -> list:
    return _response_cache(config, ctx) + _placeholders(config, ctx) + _labels(config, ctx) + _metrics(config)

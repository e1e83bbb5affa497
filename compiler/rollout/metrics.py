"""Triton's failure counters, read from its Prometheus endpoint (the metrics port, 8002).

`nv_inference_request_failure{model="m",version="2"}` counts requests that failed. A rise
during the soak after a wave means the new model answers some real traffic with errors even
though it loaded and passed its smoke request. Counters are compared per model, summed
over versions (a version that appears mid-soak starts from 0).
"""
from __future__ import annotations

import re
import urllib.error
import urllib.request

FAILURE_METRIC = "nv_inference_request_failure"
_LINE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class MetricsError(Exception):
    pass


def parse_failures(text: str) -> dict:
    """{model: failed requests} from Prometheus text exposition."""
    out: dict = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or match["name"] != FAILURE_METRIC:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        try:
            value = float(match["value"])
        except ValueError:
            continue
        model = labels.get("model", "")
        out[model] = out.get(model, 0.0) + value
    return out


def read_failures(metrics_url: str, timeout: float = 10.0) -> dict:
    """{model: failed requests} as the server counts them now."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout) as response:  # noqa: S310 - http:// built here
            return parse_failures(response.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise MetricsError(f"metrics at {metrics_url} unreadable: {exc}") from None


def rises(before: dict, after: dict, models) -> dict:
    """{model: how many more failures} for the models in `models` whose counter rose."""
    return {m: after.get(m, 0.0) - before.get(m, 0.0) for m in models if after.get(m, 0.0) > before.get(m, 0.0)}

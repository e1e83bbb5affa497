"""Helpers for rule tests: build a ModelConfig from text format and run the rules on it."""
from __future__ import annotations

from google.protobuf import text_format

from compiler.proto import ModelConfig
from compiler.rules import RuleContext, check_config


def config(text: str) -> ModelConfig:
    return text_format.Parse(text, ModelConfig())


def run(text: str, module=None, name: str = "m", **ctx) -> list:
    """Findings for `text`: of one rule module (its problems, and a Note for a check it could not
    make), or the problems of all rules (check_config)."""
    cfg = config(text)
    context = RuleContext(name, **ctx)
    return module.check(cfg, context) if module is not None else check_config(cfg, context).problems


def by_rule(problems, rule: str) -> list:
    return [p for p in problems if p.rule == rule]


def one(problems, rule: str):
    """The single problem with this rule id (fails if there are none or several)."""
    found = by_rule(problems, rule)
    assert len(found) == 1, f"expected one {rule!r}, got {[(p.rule, p.message) for p in problems]}"
    return found[0]


# A complete, valid single-model config to start from.
BASE = '''
name: "m"
backend: "python"
max_batch_size: 8
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]
'''

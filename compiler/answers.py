"""How the stages ask for answers an earlier run may already have: each question comes with
the plain code that answers it, and PLAIN simply runs that code. compiler/fastpath/results.py
answers the same questions from its per-model cache when their inputs are unchanged; the
commands choose which one a run gets (TRITON_GITOPS_FASTPATH)."""
from __future__ import annotations


class Plain:
    """No cache: every question is answered by the plain code."""

    def document(self, raw: bytes, display: str, load):
        return load(raw, display)

    def is_valid(self, data, check) -> bool:
        return check(data)

    def canonical_config(self, name: str, merged: dict, canonical) -> tuple:
        return canonical(name, merged)

    def parse_config(self, config_dict, parse):
        return parse(config_dict)

    def render(self, config, label: str, render) -> str:
        return render(config, label)

    def check(self, config, ctx, check):
        """Triton's rules on one config: compiler.rules.Findings (problems and notes)."""
        return check(config, ctx)

    def save(self) -> None:
        pass


PLAIN = Plain()

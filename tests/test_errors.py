"""The package's exception types survive pickle whole: the prefetch helper hands what its run
raised to the main process through a pipe (compiler/fastpath/handover.py), which raises it as
its own, so it must come back with its type, message, hint and attributes."""
from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil

import pytest

import compiler
from compiler.errors import FatalError, Problem
from tests.helpers import run_cli


def _modules() -> list:
    out = []
    for info in pkgutil.walk_packages(compiler.__path__, "compiler."):
        if info.name.rsplit(".", 1)[-1] != "__main__":  # the entry point: nothing defined there
            out.append(importlib.import_module(info.name))
    return out


def _defined() -> list:
    """Every exception type a module of the package defines, found by importing them all."""
    found = {obj for module in _modules() for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__}
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


_SAMPLES = {"str": "a message: s3://bucket/key", "float": 2.5, "int": 7, "Problem": Problem("bad", "rule")}


def _instance(cls):
    """An instance made through the type's own __init__, each argument a sample of its annotation."""
    owner = next(base for base in cls.__mro__ if "__init__" in vars(base))
    if owner.__module__ == "builtins":  # Exception's, OSError's: the message alone
        return cls(_SAMPLES["str"])
    parameters = list(inspect.signature(owner.__init__).parameters.values())[1:]
    args = [_SAMPLES[p.annotation] for p in parameters if p.default is inspect.Parameter.empty]
    exc = cls(*args)
    if isinstance(exc, FatalError):
        exc.hint = "a hint"
    return exc


def _same(exc, back) -> None:
    assert type(back) is type(exc)
    assert str(back) == str(exc) and back.args == exc.args
    assert vars(back) == vars(exc)  # message, hint, seconds, label, line, ...


class Refused(FatalError):
    """The shape a future subclass may take: arguments of its own, the message made from them."""

    def __init__(self, path: str, why: str):
        super().__init__(f"{path}: {why}", "fix it")
        self.path = path


def test_a_fatal_error_subclass_with_its_own_arguments_round_trips_too():
    exc = Refused("models.yaml", "no")
    back = pickle.loads(pickle.dumps(exc))
    _same(exc, back)
    assert back.path == "models.yaml" and back.hint == "fix it"


@pytest.mark.parametrize("cls", [c for c in _defined() if not c.__name__.startswith("_") or issubclass(c, FatalError)],
                         ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_exception_type_of_the_package_round_trips(cls):
    """Private ones (a parser's internal signals) never leave their module; every other may
    reach the helper's answer (a StorageTimeout does, bare, when a store stops answering), and
    a FatalError of any name does. FatalError itself is one of them: its message and hint are
    among the attributes compared, the hint set by `_instance`."""
    exc = _instance(cls)
    _same(exc, pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)))


def test_a_round_tripped_fatal_error_is_reported_by_the_one_handler_as_the_original(monkeypatch, tmp_path):
    exc = FatalError("cannot read models.yaml", "check the path")
    back = pickle.loads(pickle.dumps(exc))

    def raising(_options):
        raise back

    from compiler import cli

    monkeypatch.setitem(cli.COMMANDS, "validate", raising)
    code, out, err = run_cli("validate", tmp_path / "models.yaml")
    assert code == 1 and out == ""
    assert err == "triton-gitops: error: cannot read models.yaml\n    hint: check the path\n"

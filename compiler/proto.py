"""Where `ModelConfig` comes from: the tritonclient package, never a vendored .proto.

`import tritonclient.grpc.model_config_pb2` runs `tritonclient/grpc/__init__.py`, which
imports grpc and numpy-heavy helpers (~150 ms). The generated module itself needs only
protobuf, so we load that one file under its canonical module name; a later
`import tritonclient.grpc` (rollout) then finds it in sys.modules and reuses it, which
keeps the descriptor pool free of a duplicate registration.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from compiler.errors import FatalError

_MODULE = "tritonclient.grpc.model_config_pb2"


def _load() -> ModuleType:
    if _MODULE in sys.modules:
        return sys.modules[_MODULE]
    spec = importlib.util.find_spec("tritonclient")
    if spec is None or not spec.submodule_search_locations:
        raise FatalError("the tritonclient package is not installed", "pip install 'tritonclient[grpc]'")
    for root in spec.submodule_search_locations:
        location = f"{root}/grpc/model_config_pb2.py"
        try:
            file_spec = importlib.util.spec_from_file_location(_MODULE, location)
            if file_spec is None or file_spec.loader is None:
                continue
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[_MODULE] = module
            file_spec.loader.exec_module(module)
            return module
        except FileNotFoundError:
            sys.modules.pop(_MODULE, None)
    raise FatalError("tritonclient has no grpc/model_config_pb2.py", "pip install 'tritonclient[grpc]'")


model_config_pb2 = _load()
if TYPE_CHECKING:  # the generated module has no type information: to mypy both are Any, valid as types
    from tritonclient.grpc.model_config_pb2 import DataType, ModelConfig
else:
    ModelConfig = model_config_pb2.ModelConfig
    DataType = model_config_pb2.DataType


def is_repeated(field) -> bool:
    """`FieldDescriptor.label` is deprecated in protobuf 6; older releases lack `is_repeated`."""
    flag = getattr(field, "is_repeated", None)
    return flag if isinstance(flag, bool) else field.label == field.LABEL_REPEATED

"""Random ModelConfigs (fixed seed): the rules never raise and report well-formed problems, and
the lint scanner locates every field protobuf prints, so any problem path can be placed."""
import random

from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor as FD

from compiler.errors import ERROR, WARNING
from compiler.lint.pbtxt import positions
from compiler.proto import ModelConfig
from compiler.rules import RuleContext, check_config
from compiler.rules.base import is_map, is_repeated

STRINGS = ["", "a", "IN", "OUT", "${p}", "..", "model.py", "ensemble", "onnxruntime_onnx", "tensorrt_plan", "python",
           "0", "../x", "é"]


def _scalar(fd, rnd):
    if fd.type == FD.TYPE_STRING:
        return rnd.choice(STRINGS)
    if fd.type == FD.TYPE_BOOL:
        return rnd.random() < 0.5
    if fd.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return rnd.choice([0.0, -1.0, 0.5, 2.0])
    if fd.type == FD.TYPE_ENUM:
        return rnd.choice(fd.enum_type.values).number
    if fd.type in (FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64):
        return rnd.choice([0, 1, 2, 5])
    return rnd.choice([0, 1, -1, 2, 3, -5, 8])


def _fill(msg, rnd, depth=0):
    for fd in msg.DESCRIPTOR.fields:
        if depth > 5 or rnd.random() > (0.5 if depth < 2 else 0.2):
            continue
        if fd.containing_oneof is not None and msg.WhichOneof(fd.containing_oneof.name):
            continue
        if is_map(fd):
            key_fd, value_fd = fd.message_type.fields_by_name["key"], fd.message_type.fields_by_name["value"]
            for _ in range(rnd.randint(0, 2)):
                key = _scalar(key_fd, rnd)
                if value_fd.message_type is not None:
                    _fill(getattr(msg, fd.name)[key], rnd, depth + 1)
                else:
                    getattr(msg, fd.name)[key] = _scalar(value_fd, rnd)
        elif is_repeated(fd):
            for _ in range(rnd.randint(0, 3)):
                if fd.message_type is not None:
                    _fill(getattr(msg, fd.name).add(), rnd, depth + 1)
                else:
                    getattr(msg, fd.name).append(_scalar(fd, rnd))
        elif fd.message_type is not None:
            getattr(msg, fd.name).SetInParent()
            _fill(getattr(msg, fd.name), rnd, depth + 1)
        else:
            setattr(msg, fd.name, _scalar(fd, rnd))


def test_random_configs():
    rnd = random.Random(20240601)
    seen_rules = set()
    for _ in range(300):
        config = ModelConfig()
        _fill(config, rnd)
        contexts = (RuleContext("m"),
                    RuleContext("model.x", versions={1, 0}, files={"1/model.onnx", "warmup/a"},
                                repository_models={"a", "IN"}, model_configs={"IN": config, "a": ModelConfig()},
                                model_file_may_complete=True))
        text = text_format.MessageToString(config)
        located = positions(text, ModelConfig.DESCRIPTOR)
        assert located.unknown == []
        for ctx in contexts:
            for problem in check_config(config, ctx).problems:
                assert problem.rule and problem.message and problem.hint
                assert problem.severity in (ERROR, WARNING) and isinstance(problem.path, tuple)
                line, column = located.locate(problem.path)
                assert 1 <= line <= max(1, text.count("\n") + 1) and column >= 1
                seen_rules.add(problem.rule)
    assert len(seen_rules) >= 40

from google.protobuf import json_format, text_format

from compiler.compile.config_text import render_config
from compiler.proto import ModelConfig


def parse(text):
    return text_format.Parse(text, ModelConfig())


def test_zero_max_batch_size_is_written_and_fields_follow_the_proto_declaration_order():
    config = json_format.ParseDict({"name": "m", "backend": "python", "max_batch_size": 0,
                                    "input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [1]}]}, ModelConfig())
    text = render_config(config)
    body = [line for line in text.splitlines() if not line.startswith("#")]
    assert body[:3] == ['name: "m"', 'backend: "python"', "max_batch_size: 0"]
    assert parse(text) == config


def test_render_is_deterministic_and_round_trips_maps():
    config = json_format.ParseDict({"name": "m", "parameters": {"b": {"string_value": "2"}, "a": {"string_value": "1"}},
                                    "max_batch_size": 4}, ModelConfig())
    first, second = render_config(config), render_config(config)
    assert first == second
    assert first.index('key: "a"') < first.index('key: "b"')
    assert parse(first) == config

"""Seeded, deterministic generator of model folders for judging `lint` against a real Triton.

Every case is a valid random python-backend model (KIND_CPU, the tiny model of model_py.py) plus
at most one mutation from a named category. Categories cover every area of ModelConfig, and
include mutations that look wrong but that Triton accepts. Whether Triton accepts a case is not
decided here: scripts/judge.py asks a real tritonserver, and tests/judge/verdicts.tsv keeps its
answers.

    cases = generate(seed)            # list[Case], same list for the same seed and code
    write_case(case, root)            # root/<model folder>/... for every model of the case

`Case.where` says which field the mutation touched, so a test can check that lint places its
error there: "config:<model>:<path>" (path as compiler.errors.format_path writes it),
"file:<model>:<relative path>", or "" when the mutation touches nothing a problem could point at.
Nothing here imports the package under test.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.judge.model_py import MODEL_PY
from tests.judge.pbtxt import Enum, render

DEFAULT_SEED = 20261203
PER_CATEGORY = 3
TYPES = ["TYPE_FP32", "TYPE_INT32", "TYPE_INT64", "TYPE_FP16", "TYPE_UINT8", "TYPE_BOOL", "TYPE_STRING"]
SIZES = {"TYPE_FP32": 4, "TYPE_INT32": 4, "TYPE_INT64": 8, "TYPE_FP16": 2, "TYPE_UINT8": 1, "TYPE_BOOL": 1}
EMPTY_DIR = None  # a files-dict value that stands for an empty folder


@dataclass
class Model:
    folder: str
    config: dict
    files: dict = field(default_factory=dict)  # relative path -> str | bytes | EMPTY_DIR


@dataclass
class Case:
    id: str
    category: str
    area: str
    main: str
    where: str
    models: list

    def model(self, folder: str) -> Model:
        return next(m for m in self.models if m.folder == folder)


@dataclass
class Category:
    name: str
    area: str
    make: Callable
    count: int = PER_CATEGORY


CATEGORIES: list = []


def category(name: str, area: str, count: int = PER_CATEGORY):
    def register(fn):
        CATEGORIES.append(Category(name, area, fn, count))
        return fn
    return register


# -- the valid base --------------------------------------------------------------------------------

def _tensor(rng, name, types=TYPES):
    return {"name": name, "data_type": Enum(rng.choice(types)),
            "dims": [rng.choice([1, 2, 3, 4, -1]) for _ in range(rng.randint(1, 3))]}


def base_config(rng, name, *, batching=None, types=TYPES, n_inputs=None) -> dict:
    config = {}
    if rng.random() < 0.8:
        config["name"] = name
    config["backend"] = "python"
    mbs = rng.choice([0, 4, 8]) if batching is None else (rng.choice([4, 8]) if batching else 0)
    config["max_batch_size"] = mbs
    config["input"] = [_tensor(rng, f"INPUT{i}", types) for i in range(n_inputs or rng.randint(1, 3))]
    config["output"] = [_tensor(rng, f"OUTPUT{i}", types) for i in range(rng.randint(1, 2))]
    config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": 1}]
    if mbs and rng.random() < 0.4:
        config["dynamic_batching"] = {"max_queue_delay_microseconds": rng.choice([0, 100, 500])}
    return config


def python_model(rng, folder, **options) -> Model:
    return Model(folder, base_config(rng, folder, **options), {"1/model.py": MODEL_PY})


class Builder:
    """One case under construction: the main model, and helper models (ensemble steps)."""

    def __init__(self, rng, case_id):
        self.rng = rng
        self.id = case_id
        self.models = []
        self.main = ""

    def python(self, **options) -> Model:
        model = python_model(self.rng, self.id, **options)
        self.models.append(model)
        self.main = model.folder
        return model

    def helper(self, suffix, **options) -> Model:
        model = python_model(self.rng, f"{self.id}__{suffix}", **options)
        self.models.append(model)
        return model

    def ensemble(self, steps=1, batching=None) -> tuple:
        """An ensemble `<id>` chaining `steps` python models of one type and shape; (ensemble, helpers)."""
        rng = self.rng
        dtype = Enum(rng.choice([t for t in TYPES if t != "TYPE_BOOL"]))
        dims = [rng.choice([1, 2, 4, -1]) for _ in range(rng.randint(1, 2))]
        mbs = rng.choice([0, 4]) if batching is None else (4 if batching else 0)
        helpers = []
        for s in range(steps):
            h = self.helper(f"s{s}")
            h.config.update(max_batch_size=mbs, input=[{"name": "IN", "data_type": dtype, "dims": list(dims)}],
                            output=[{"name": "OUT", "data_type": dtype, "dims": list(dims)}])
            h.config.pop("dynamic_batching", None)
            h.config["name"] = h.folder
            helpers.append(h)
        config = {"name": self.id, "platform": "ensemble", "max_batch_size": mbs,
                  "input": [{"name": "E_IN", "data_type": dtype, "dims": list(dims)}],
                  "output": [{"name": "E_OUT", "data_type": dtype, "dims": list(dims)}],
                  "ensemble_scheduling": {"step": [
                      {"model_name": h.folder, "model_version": -1,
                       "input_map": [{"key": "IN", "value": "E_IN" if s == 0 else f"T{s}"}],
                       "output_map": [{"key": "OUT", "value": "E_OUT" if s == steps - 1 else f"T{s + 1}"}]}
                      for s, h in enumerate(helpers)]}}
        ensemble = Model(self.id, config, {"1": EMPTY_DIR})
        self.models.insert(0, ensemble)
        self.main = self.id
        return ensemble, helpers


def concrete(dims, rng) -> list:
    return [d if d > 0 else rng.randint(1, 3) for d in dims]


def warmup_sample(config, rng, name="sample", batch_size=1, data="zero_data") -> dict:
    inputs = []
    for io in config["input"]:
        entry = {"data_type": io["data_type"], "dims": concrete(io["dims"], rng)}
        if data == "zero_data":
            entry["zero_data"] = True
        elif data == "random_data":
            entry["random_data"] = True
        inputs.append({"key": io["name"], "value": entry})
    return {"name": name, "batch_size": batch_size, "inputs": inputs}


def numeric(model: Model, rng):
    """Make every input numeric (warmup files, value checks); returns the config."""
    for io in model.config["input"]:
        if io["data_type"] in ("TYPE_STRING", "TYPE_BOOL"):
            io["data_type"] = Enum(rng.choice(["TYPE_FP32", "TYPE_INT32"]))
    return model.config


def at(model: Model, path: str) -> str:
    return f"config:{model.folder}:{path}"


def file_at(model: Model, path: str) -> str:
    return f"file:{model.folder}:{path}"


def params(*pairs) -> list:
    return [{"key": k, "value": {"string_value": v}} for k, v in pairs]


# -- valid configurations (no mutation) ------------------------------------------------------------

@category("valid_basic", "base", count=25)
def _(b):
    b.python()
    return ""


@category("valid_batching", "batching", count=10)
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preferred_batch_size": [m.config["max_batch_size"]],
                                    "max_queue_delay_microseconds": 100}
    return ""


@category("valid_ensemble", "ensemble", count=10)
def _(b):
    b.ensemble(steps=b.rng.choice([1, 2]))
    return ""


@category("valid_warmup", "warmup", count=10)
def _(b):
    m = b.python()
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, data=b.rng.choice(["zero_data", "random_data"]))]
    return ""


@category("valid_sequence_direct", "sequence", count=5)
def _(b):
    m = b.python(batching=True)
    m.config.pop("dynamic_batching", None)
    m.config["sequence_batching"] = {"direct": {}, "max_sequence_idle_microseconds": 5000000,
                                     "control_input": [{"name": "START", "control": [
                                         {"kind": Enum("CONTROL_SEQUENCE_START"), "int32_false_true": [0, 1]}]}]}
    return ""


@category("valid_sequence_oldest", "sequence", count=5)
def _(b):
    m = b.python(batching=True)
    m.config.pop("dynamic_batching", None)
    m.config["sequence_batching"] = {"oldest": {"max_candidate_sequences": 4, "preferred_batch_size": [2],
                                                "max_queue_delay_microseconds": 100},
                                     "control_input": [{"name": "READY", "control": [
                                         {"kind": Enum("CONTROL_SEQUENCE_READY"), "fp32_false_true": [0.0, 1.0]}]}]}
    return ""


# -- tensors ------------------------------------------------------------------------------------------

@category("input_missing_data_type", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["input"]))
    del m.config["input"][i]["data_type"]
    return at(m, f"input[{i}].data_type")


@category("output_missing_data_type", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["output"]))
    del m.config["output"][i]["data_type"]
    return at(m, f"output[{i}].data_type")


@category("input_missing_dims", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["input"]))
    del m.config["input"][i]["dims"]
    return at(m, f"input[{i}].dims")


@category("output_missing_dims", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["output"]))
    del m.config["output"][i]["dims"]
    return at(m, f"output[{i}].dims")


@category("input_type_invalid", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["input"]))
    m.config["input"][i]["data_type"] = Enum("TYPE_INVALID")
    return at(m, f"input[{i}].data_type")


@category("input_dim_zero", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["input"]))
    dims = m.config["input"][i]["dims"]
    j = b.rng.randrange(len(dims))
    dims[j] = 0
    return at(m, f"input[{i}].dims[{j}]")


@category("output_dim_negative", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["output"]))
    dims = m.config["output"][i]["dims"]
    j = b.rng.randrange(len(dims))
    dims[j] = b.rng.choice([-2, -3, -7])
    return at(m, f"output[{i}].dims[{j}]")


@category("input_no_name", "tensors")
def _(b):
    m = b.python()
    i = b.rng.randrange(len(m.config["input"]))
    del m.config["input"][i]["name"]
    return at(m, f"input[{i}]")


@category("duplicate_input_name", "tensors")
def _(b):
    m = b.python()
    m.config["input"].append(dict(m.config["input"][0]))
    return ""


@category("duplicate_output_name", "tensors")
def _(b):
    m = b.python()
    m.config["output"].append(dict(m.config["output"][0]))
    return ""


@category("input_output_same_name", "tensors")
def _(b):
    m = b.python()
    m.config["output"][0]["name"] = m.config["input"][0]["name"]
    return ""


@category("input_format_wrong_rank", "tensors")
def _(b):
    m = b.python()
    io = m.config["input"][0]
    io["dims"] = [b.rng.choice([2, 3])] * b.rng.choice([1, 2, 4])
    io["format"] = Enum(b.rng.choice(["FORMAT_NCHW", "FORMAT_NHWC"]))
    return at(m, "input[0].format")


@category("input_format_three_dims", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0].update(dims=[3, 4, 4], format=Enum(b.rng.choice(["FORMAT_NCHW", "FORMAT_NHWC"])))
    return ""


@category("shape_tensor_on_python", "tensors")
def _(b):
    m = b.python(batching=True)
    m.config["input"][0]["is_shape_tensor"] = True
    return at(m, "input[0].is_shape_tensor")


@category("non_linear_format_on_python", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0].update(dims=[2, 2, 2], is_non_linear_format_io=True)
    return at(m, "input[0].is_non_linear_format_io")


@category("optional_input", "tensors")
def _(b):
    m = b.python()
    m.config["input"][-1]["optional"] = True
    return ""


@category("ragged_batch_input", "tensors")
def _(b):
    m = b.python(batching=True)
    m.config["input"][0]["allow_ragged_batch"] = True
    return ""


@category("wildcard_dims_everywhere", "tensors")
def _(b):
    m = b.python()
    for io in m.config["input"] + m.config["output"]:
        io["dims"] = [-1] * len(io["dims"])
    return ""


@category("output_label_file", "labels")
def _(b):
    m = b.python()
    m.config["output"][0]["label_filename"] = "labels.txt"
    m.files["labels.txt"] = "cat\ndog\n"
    return ""


@category("output_label_file_missing", "labels")
def _(b):
    m = b.python()
    m.config["output"][0]["label_filename"] = b.rng.choice(["labels.txt", "classes.txt"])
    return at(m, "output[0].label_filename")


@category("output_label_file_in_version", "labels")
def _(b):
    m = b.python()
    m.config["output"][0]["label_filename"] = "labels.txt"
    m.files["1/labels.txt"] = "cat\ndog\n"
    return at(m, "output[0].label_filename")


# -- reshape ------------------------------------------------------------------------------------------

@category("reshape_valid", "reshape")
def _(b):
    m = b.python()
    io = m.config["input"][0]
    io["dims"] = [2, 3]
    io["reshape"] = {"shape": b.rng.choice([[6], [3, 2], [1, 6]])}
    return ""


@category("reshape_element_count", "reshape")
def _(b):
    m = b.python()
    io = m.config[b.rng.choice(["input", "output"])][0]
    io["dims"] = [2, 3]
    io["reshape"] = {"shape": b.rng.choice([[5], [2, 2], [7]])}
    kind = "input" if io["name"].startswith("INPUT") else "output"
    return at(m, f"{kind}[0].reshape.shape")


@category("reshape_empty_non_batching", "reshape")
def _(b):
    m = b.python(batching=False)
    m.config["input"][0].update(dims=[1], reshape={"shape": []})
    return at(m, "input[0].reshape")


@category("reshape_empty_batching", "reshape")
def _(b):
    m = b.python(batching=True)
    m.config["input"][0].update(dims=[1], reshape={"shape": []})
    return ""


@category("reshape_variable_mismatch", "reshape")
def _(b):
    m = b.python()
    m.config["input"][0].update(dims=[-1, 4], reshape={"shape": b.rng.choice([[-1, -1], [4, 2]])})
    return at(m, "input[0].reshape.shape")


@category("reshape_variable_valid", "reshape")
def _(b):
    m = b.python()
    m.config["input"][0].update(dims=[-1, 4], reshape={"shape": [-1, 2, 2]})
    return ""


@category("reshape_zero", "reshape")
def _(b):
    m = b.python()
    m.config["input"][0].update(dims=[2], reshape={"shape": [0, 2]})
    return at(m, "input[0].reshape.shape[0]")


# -- batching -----------------------------------------------------------------------------------------

@category("max_batch_size_negative", "batching")
def _(b):
    m = b.python()
    m.config["max_batch_size"] = b.rng.choice([-1, -4])
    m.config.pop("dynamic_batching", None)
    return at(m, "max_batch_size")


@category("preferred_batch_size_too_large", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preferred_batch_size": [m.config["max_batch_size"] + b.rng.randint(1, 8)]}
    return at(m, "dynamic_batching.preferred_batch_size[0]")


@category("preferred_batch_size_zero", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preferred_batch_size": [b.rng.choice([0, -2])]}
    return at(m, "dynamic_batching.preferred_batch_size[0]")


@category("dynamic_batching_without_batching", "batching")
def _(b):
    m = b.python(batching=False)
    m.config["dynamic_batching"] = {"max_queue_delay_microseconds": 100}
    return ""


@category("priority_default_out_of_range", "batching")
def _(b):
    m = b.python(batching=True)
    levels = b.rng.randint(1, 3)
    m.config["dynamic_batching"] = {"priority_levels": levels,
                                    "default_priority_level": b.rng.choice([0, levels + 1])}
    return at(m, "dynamic_batching.default_priority_level")


@category("priority_queue_policy_out_of_range", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"priority_levels": 2, "default_priority_level": 1,
                                    "priority_queue_policy": [{"key": 3, "value": {"max_queue_size": 4}}]}
    return at(m, "dynamic_batching.priority_queue_policy.3")


@category("priority_valid", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"priority_levels": 3, "default_priority_level": 2,
                                    "priority_queue_policy": [{"key": 1, "value": {"max_queue_size": 4}}]}
    return ""


@category("preserve_ordering_priorities", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preserve_ordering": True, "priority_levels": 2, "default_priority_level": 1}
    return at(m, "dynamic_batching.priority_levels")


@category("preserve_ordering_delay", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preserve_ordering": True, "default_queue_policy": {
        "timeout_action": Enum("DELAY"), "default_timeout_microseconds": 1000}}
    return at(m, "dynamic_batching.default_queue_policy.timeout_action")


@category("preserve_ordering_valid", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preserve_ordering": True, "default_queue_policy": {
        "timeout_action": Enum("REJECT"), "default_timeout_microseconds": 1000, "max_queue_size": 8}}
    return ""


@category("priority_settings_without_levels", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"default_priority_level": b.rng.randint(1, 3)}
    return ""


@category("batch_input_valid", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["batch_input"] = [{"kind": Enum("BATCH_ELEMENT_COUNT"), "target_name": ["COUNT"],
                                "data_type": Enum("TYPE_INT32"), "source_input": [m.config["input"][0]["name"]]}]
    return ""


@category("batch_input_unknown_source", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["batch_input"] = [{"kind": Enum("BATCH_ELEMENT_COUNT"), "target_name": ["COUNT"],
                                "data_type": Enum("TYPE_INT32"), "source_input": ["NOT_AN_INPUT"]}]
    return at(m, "batch_input[0].source_input[0]")


@category("batch_input_bad_type", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["batch_input"] = [{"kind": Enum("BATCH_ACCUMULATED_ELEMENT_COUNT"), "target_name": ["COUNT"],
                                "data_type": Enum(b.rng.choice(["TYPE_INT64", "TYPE_FP16", "TYPE_UINT8"])),
                                "source_input": [m.config["input"][0]["name"]]}]
    return at(m, "batch_input[0].data_type")


@category("batch_input_two_sources", "batching")
def _(b):
    m = b.python(batching=True, n_inputs=2)
    m.config["batch_input"] = [{"kind": Enum("BATCH_MAX_ELEMENT_COUNT_AS_SHAPE"), "target_name": ["COUNT"],
                                "data_type": Enum("TYPE_INT32"), "source_input": ["INPUT0", "INPUT1"]}]
    return at(m, "batch_input[0].source_input")


@category("batch_output_unknown_target", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["batch_output"] = [{"kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"), "target_name": ["NOT_AN_OUTPUT"],
                                 "source_input": [m.config["input"][0]["name"]]}]
    return at(m, "batch_output[0].target_name[0]")


@category("batch_output_valid", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["batch_output"] = [{"kind": Enum("BATCH_SCATTER_WITH_INPUT_SHAPE"),
                                 "target_name": [m.config["output"][0]["name"]],
                                 "source_input": [m.config["input"][0]["name"]]}]
    return ""


@category("custom_batch_strategy_missing", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {}
    # Relative paths; an absolute one is custom_batch_strategy_absolute_missing.
    path = b.rng.choice(["batchstrategy.so", "libs/batchstrategy.so"])
    m.config["parameters"] = params(("TRITON_BATCH_STRATEGY_PATH", path))
    if path.startswith("libs/"):
        m.files[path] = b"\x7fELF not really a library"  # in the model folder, where Triton does not look
    return at(m, "parameters.TRITON_BATCH_STRATEGY_PATH")


@category("max_queue_delay_large", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"max_queue_delay_microseconds": 10 ** b.rng.randint(7, 12)}
    return ""


# -- sequence batching ------------------------------------------------------------------------------

def sequence(b, batching=True, strategy="direct"):
    m = b.python(batching=batching)
    m.config.pop("dynamic_batching", None)
    m.config["sequence_batching"] = {strategy: {}} if strategy else {}
    return m


def control(name, kind, **value):
    return {"name": name, "control": [dict({"kind": Enum(kind)}, **value)]}


@category("sequence_no_strategy", "sequence")
def _(b):
    sequence(b, strategy=None)
    return ""


@category("sequence_non_batching", "sequence")
def _(b):
    sequence(b, batching=False)
    return ""


@category("sequence_control_start_twice", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("START", "CONTROL_SEQUENCE_START", int32_false_true=[0, 1]),
        control("START2", "CONTROL_SEQUENCE_START", int32_false_true=[0, 1])]
    return at(m, "sequence_batching.control_input[1]")


@category("sequence_control_no_value", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [control("END", "CONTROL_SEQUENCE_END")]
    return at(m, "sequence_batching.control_input[0].control[0]")


@category("sequence_control_two_values", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("END", "CONTROL_SEQUENCE_END", int32_false_true=[0, 1], fp32_false_true=[0.0, 1.0])]
    return at(m, "sequence_batching.control_input[0].control[0]")


@category("sequence_control_wrong_count", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("START", "CONTROL_SEQUENCE_START", int32_false_true=b.rng.choice([[1], [0, 1, 2]]))]
    return at(m, "sequence_batching.control_input[0].control[0].int32_false_true")


@category("sequence_control_tensor_twice", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("CTRL", "CONTROL_SEQUENCE_START", int32_false_true=[0, 1]),
        control("CTRL", "CONTROL_SEQUENCE_END", int32_false_true=[0, 1])]
    return at(m, "sequence_batching.control_input[1]")


@category("sequence_control_is_model_input", "sequence")
def _(b):
    m = sequence(b)
    name = m.config["input"][0]["name"]
    m.config["sequence_batching"]["control_input"] = [control(name, "CONTROL_SEQUENCE_START",
                                                              int32_false_true=[0, 1])]
    return ""


@category("sequence_corrid_valid", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("CORRID", "CONTROL_SEQUENCE_CORRID", data_type=Enum(b.rng.choice(["TYPE_UINT64", "TYPE_STRING"])))]
    return ""


@category("sequence_corrid_no_type", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [control("CORRID", "CONTROL_SEQUENCE_CORRID")]
    return at(m, "sequence_batching.control_input[0].control[0]")


@category("sequence_corrid_bad_type", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("CORRID", "CONTROL_SEQUENCE_CORRID", data_type=Enum(b.rng.choice(["TYPE_FP32", "TYPE_BOOL"])))]
    return at(m, "sequence_batching.control_input[0].control[0].data_type")


@category("sequence_control_bool", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["control_input"] = [
        control("READY", "CONTROL_SEQUENCE_READY", bool_false_true=[False, True])]
    return ""


@category("sequence_oldest_preferred_too_large", "sequence")
def _(b):
    m = sequence(b, strategy="oldest")
    m.config["sequence_batching"]["oldest"] = {"max_candidate_sequences": 4,
                                               "preferred_batch_size": [m.config["max_batch_size"] + 4]}
    return at(m, "sequence_batching.oldest.preferred_batch_size[0]")


@category("sequence_oldest_no_candidates", "sequence")
def _(b):
    m = sequence(b, strategy="oldest")
    m.config["sequence_batching"]["oldest"] = {"max_queue_delay_microseconds": 100}
    return ""


@category("sequence_state_valid", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{"input_name": "STATE_IN", "output_name": "STATE_OUT",
                                               "data_type": Enum("TYPE_FP32"), "dims": [b.rng.choice([1, 4, -1])]}]
    return ""


@category("sequence_state_no_dims", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{"input_name": "STATE_IN", "output_name": "STATE_OUT",
                                               "data_type": Enum("TYPE_FP32")}]
    return at(m, "sequence_batching.state[0].dims")


@category("sequence_state_no_type", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{"input_name": "STATE_IN", "output_name": "STATE_OUT",
                                               "dims": [4]}]
    return at(m, "sequence_batching.state[0].data_type")


@category("sequence_state_no_names", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{"output_name": "STATE_OUT", "data_type": Enum("TYPE_FP32"),
                                               "dims": [4]}]
    return at(m, "sequence_batching.state[0].input_name")


@category("sequence_with_custom_batch_strategy", "sequence")
def _(b):
    m = sequence(b, strategy=b.rng.choice(["direct", "oldest"]))
    m.config["parameters"] = params(("TRITON_BATCH_STRATEGY_PATH", "batchstrategy.so"))
    m.files["batchstrategy.so"] = b"\x7fELF not really a library"
    return at(m, "parameters.TRITON_BATCH_STRATEGY_PATH")


@category("sequence_idle_large", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["max_sequence_idle_microseconds"] = 10 ** b.rng.randint(8, 11)
    return ""


@category("sequence_iterative", "sequence")
def _(b):
    m = sequence(b, strategy="oldest")
    m.config["sequence_batching"]["iterative_sequence"] = True
    return ""


@category("sequence_and_dynamic_batching", "sequence")
def _(b):
    m = sequence(b)
    m.config["dynamic_batching"] = {}
    return at(m, "dynamic_batching")


# -- ensembles ------------------------------------------------------------------------------------------

def _step(e, s=0):
    return e.config["ensemble_scheduling"]["step"][s]


@category("ensemble_step_without_version", "ensemble")
def _(b):
    e, _ = b.ensemble()
    del _step(e)["model_version"]
    return ""


@category("ensemble_step_version_zero", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_version"] = 0
    return ""


@category("ensemble_step_version_one", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_version"] = 1
    return ""


@category("ensemble_step_version_missing", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_version"] = b.rng.choice([2, 3, 7])
    return at(e, "ensemble_scheduling.step[0].model_version")


@category("ensemble_step_version_below_minus_one", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_version"] = b.rng.choice([-2, -5])
    return at(e, "ensemble_scheduling.step[0].model_version")


@category("ensemble_unknown_step_model", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_name"] = b.id + "__nothere"
    return at(e, "ensemble_scheduling.step[0].model_name")


@category("ensemble_step_unknown_input", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["input_map"].append({"key": "NOT_AN_INPUT", "value": "E_IN"})
    return at(e, "ensemble_scheduling.step[0].input_map.NOT_AN_INPUT")


@category("ensemble_step_unmapped_input", "ensemble")
def _(b):
    e, helpers = b.ensemble()
    helpers[0].config["input"].append({"name": "IN2", "data_type": Enum("TYPE_FP32"), "dims": [1]})
    return at(e, "ensemble_scheduling.step[0].input_map")


@category("ensemble_step_unknown_output", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["output_map"][0]["key"] = "NOT_AN_OUTPUT"
    return at(e, "ensemble_scheduling.step[0].output_map.NOT_AN_OUTPUT")


@category("ensemble_output_not_produced", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["output"].append({"name": "E_EXTRA", "data_type": e.config["output"][0]["data_type"], "dims": [1]})
    return at(e, "output[1]")


@category("ensemble_input_unused", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["input"].append({"name": "E_UNUSED", "data_type": Enum("TYPE_FP32"), "dims": [1]})
    return ""


@category("ensemble_type_mismatch", "ensemble")
def _(b):
    e, _ = b.ensemble()
    now = e.config["input"][0]["data_type"]
    e.config["input"][0]["data_type"] = Enum("TYPE_INT8" if now != "TYPE_INT8" else "TYPE_FP64")
    return at(e, "ensemble_scheduling.step[0].input_map.IN")


@category("ensemble_shape_mismatch", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["output"][0]["dims"] = [5, 5, 5]
    return at(e, "ensemble_scheduling.step[0].output_map.OUT")


@category("ensemble_batch_larger_than_step", "ensemble")
def _(b):
    e, _ = b.ensemble(batching=True)
    e.config["max_batch_size"] = 16
    return at(e, "ensemble_scheduling.step[0].model_name")


@category("ensemble_with_backend", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["backend"] = "python"
    return at(e, "backend")


@category("ensemble_no_version_folder", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.files.clear()
    return at(e, "")


@category("ensemble_instance_group", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": 2}]
    return ""


@category("ensemble_dynamic_batching", "ensemble")
def _(b):
    e, _ = b.ensemble(batching=True)
    e.config["dynamic_batching"] = {}
    return at(e, "dynamic_batching")


@category("ensemble_self_step", "ensemble")
def _(b):
    e, _ = b.ensemble()
    _step(e)["model_name"] = e.folder
    return at(e, "ensemble_scheduling.step[0].model_name")


@category("ensemble_tensor_written_twice", "ensemble")
def _(b):
    e, _ = b.ensemble(steps=2)
    _step(e, 0)["output_map"][0]["value"] = "E_OUT"
    _step(e, 1)["input_map"][0]["value"] = "E_IN"
    return at(e, "ensemble_scheduling.step[1].output_map.OUT")


@category("ensemble_decoupled_step", "ensemble")
def _(b):
    _, helpers = b.ensemble()
    helpers[0].config["model_transaction_policy"] = {"decoupled": True}
    return ""


@category("ensemble_step_model_broken", "ensemble")
def _(b):
    _, helpers = b.ensemble()
    helpers[0].config["max_batch_size"] = -1
    return at(helpers[0], "max_batch_size")


@category("ensemble_no_steps", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["ensemble_scheduling"] = {}
    return at(e, "ensemble_scheduling")


# -- warmup -----------------------------------------------------------------------------------------------

@category("warmup_data_file", "warmup")
def _(b):
    m = b.python()
    numeric(m, b.rng)
    sample = warmup_sample(m.config, b.rng)
    for n, entry in enumerate(sample["inputs"]):
        value = entry["value"]
        del value["zero_data"]
        value["input_data_file"] = f"in{n}.bin"
        count = 1
        for d in value["dims"]:
            count *= d
        m.files[f"warmup/in{n}.bin"] = bytes(count * SIZES[value["data_type"]])
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_data_file_short", "warmup")
def _(b):
    m = b.python()
    numeric(m, b.rng)
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    value["input_data_file"] = "short.bin"
    value["dims"] = concrete(m.config["input"][0]["dims"], b.rng)
    count = 1
    for d in value["dims"]:
        count *= d
    needed = count * SIZES[value["data_type"]]
    m.files["warmup/short.bin"] = bytes(b.rng.randrange(0, needed))  # shorter than the dims need
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.input_data_file")


@category("warmup_data_file_long", "warmup")
def _(b):
    m = b.python()
    numeric(m, b.rng)
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    value["input_data_file"] = "long.bin"
    m.files["warmup/long.bin"] = bytes(4096)
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_data_file_missing", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    value["input_data_file"] = "absent.bin"
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.input_data_file")


@category("warmup_batch_size_zero", "warmup")
def _(b):
    m = b.python()
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, batch_size=0)]
    return ""


@category("warmup_batch_above_max", "warmup")
def _(b):
    m = b.python(batching=True)
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng,
                                              batch_size=m.config["max_batch_size"] + b.rng.randint(1, 4))]
    return at(m, "model_warmup[0].batch_size")


@category("warmup_batch_equal_max", "warmup")
def _(b):
    m = b.python(batching=True)
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, batch_size=m.config["max_batch_size"])]
    return ""


@category("warmup_batch_on_non_batching", "warmup")
def _(b):
    m = b.python(batching=False)
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, batch_size=b.rng.randint(2, 4))]
    return at(m, "model_warmup[0].batch_size")


@category("warmup_unknown_input", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    sample["inputs"].append({"key": "NOT_AN_INPUT", "value": {"data_type": Enum("TYPE_FP32"), "dims": [1],
                                                              "zero_data": True}})
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_missing_input", "warmup")
def _(b):
    m = b.python(n_inputs=2)
    sample = warmup_sample(m.config, b.rng)
    sample["inputs"].pop(1)
    m.config["model_warmup"] = [sample]
    return at(m, "model_warmup[0].inputs")


@category("warmup_missing_optional_input", "warmup")
def _(b):
    m = b.python(n_inputs=2)
    m.config["input"][1]["optional"] = True
    sample = warmup_sample(m.config, b.rng)
    sample["inputs"].pop(1)
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_wrong_type", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    value["data_type"] = Enum("TYPE_INT16" if value["data_type"] != "TYPE_INT16" else "TYPE_FP64")
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.data_type")


@category("warmup_wrong_dims", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    value["dims"] = value["dims"] + [2]
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.dims")


@category("warmup_variable_dims", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    value["dims"][0] = -1
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.dims")


@category("warmup_no_data_source", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}")


@category("warmup_several_samples", "warmup")
def _(b):
    m = b.python()
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, name=f"s{n}") for n in range(b.rng.randint(2, 3))]
    m.config["model_warmup"][-1]["count"] = b.rng.randint(1, 3)
    return ""


@category("warmup_no_inputs", "warmup")
def _(b):
    m = b.python()
    m.config["model_warmup"] = [{"name": "empty", "batch_size": 1}]
    return at(m, "model_warmup[0].inputs")


@category("warmup_decoupled", "warmup")
def _(b):
    m = b.python()
    m.config["model_transaction_policy"] = {"decoupled": True}
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng)]
    return ""


@category("warmup_file_outside", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    value["input_data_file"] = "../config.pbtxt"
    m.config["model_warmup"] = [sample]
    return at(m, f"model_warmup[0].inputs.{sample['inputs'][0]['key']}.input_data_file")


# -- versions --------------------------------------------------------------------------------------------

def more_versions(m, numbers):
    for n in numbers:
        m.files[f"{n}/model.py"] = MODEL_PY


@category("version_latest_two", "versions")
def _(b):
    m = b.python()
    more_versions(m, [2, 3])
    m.config["version_policy"] = {"latest": {"num_versions": 2}}
    return ""


@category("version_all", "versions")
def _(b):
    m = b.python()
    more_versions(m, [2])
    m.config["version_policy"] = {"all": {}}
    return ""


@category("version_specific", "versions")
def _(b):
    m = b.python()
    more_versions(m, [2])
    m.config["version_policy"] = {"specific": {"versions": [2]}}
    return ""


@category("version_specific_one_missing", "versions")
def _(b):
    m = b.python()
    m.config["version_policy"] = {"specific": {"versions": [1, b.rng.choice([4, 9])]}}
    return ""


@category("version_specific_all_missing", "versions")
def _(b):
    m = b.python()
    m.config["version_policy"] = {"specific": {"versions": [b.rng.choice([4, 9])]}}
    return at(m, "version_policy.specific")


@category("version_latest_zero", "versions")
def _(b):
    m = b.python()
    m.config["version_policy"] = {"latest": {"num_versions": 0}}
    return at(m, "version_policy.latest.num_versions")


@category("version_folder_without_model_file", "versions")
def _(b):
    m = b.python()
    n = b.rng.choice([2, 5])
    m.files[f"{n}"] = EMPTY_DIR
    if b.rng.random() < 0.5:
        m.files[f"{n}/README.txt"] = "placeholder\n"
    return file_at(m, f"{n}")


@category("version_folder_without_model_file_not_loaded", "versions")
def _(b):
    m = b.python()
    m.files.pop("1/model.py")
    m.files["1"] = EMPTY_DIR
    more_versions(m, [2])
    return ""


@category("version_folder_zero", "versions")
def _(b):
    m = b.python()
    m.files = {"0/model.py": MODEL_PY}
    return ""


@category("version_folder_zero_and_one", "versions")
def _(b):
    m = b.python()
    m.files["0/model.py"] = MODEL_PY
    m.config["version_policy"] = {"all": {}}
    return ""


@category("version_folder_number_prefix", "versions")
def _(b):
    m = b.python()
    name = b.rng.choice(["3.bak", "2_old", "4-copy"])
    m.files[f"{name}/model.py"] = MODEL_PY
    return ""


@category("version_folder_number_prefix_empty", "versions")
def _(b):
    m = b.python()
    name = b.rng.choice(["3.bak", "2_old", "4-copy"])
    m.files[f"{name}/notes.txt"] = "old\n"
    return file_at(m, name)


@category("version_folder_leading_zero", "versions")
def _(b):
    m = b.python()
    m.files[f"0{b.rng.randint(2, 9)}/model.py"] = MODEL_PY
    return ""


@category("version_folder_other_name", "versions")
def _(b):
    m = b.python()
    m.files[f"{b.rng.choice(['old', 'backup', 'tmp'])}/model.py"] = MODEL_PY
    return ""


@category("version_no_folder", "versions")
def _(b):
    m = b.python()
    m.files = {"model.py": MODEL_PY}
    return at(m, "")


@category("default_model_filename_missing", "model files")
def _(b):
    m = b.python()
    m.config["default_model_filename"] = b.rng.choice(["custom.py", "model2.py"])
    return at(m, "default_model_filename")


@category("default_model_filename_valid", "model files")
def _(b):
    m = b.python()
    m.config["default_model_filename"] = "custom.py"
    m.files = {"1/custom.py": MODEL_PY}
    return ""


@category("model_file_in_model_folder_only", "model files")
def _(b):
    m = b.python()
    m.files["model.py"] = MODEL_PY
    m.files.pop("1/model.py")
    m.files["1"] = EMPTY_DIR
    return file_at(m, "1")


@category("runtime_model_py", "model files")
def _(b):
    m = b.python()
    m.config["runtime"] = "model.py"
    return ""


@category("runtime_escape", "model files")
def _(b):
    m = b.python()
    m.config["runtime"] = b.rng.choice(["../python/libtriton_python.so", "/usr/lib/libtriton_python.so"])
    return at(m, "runtime")


# -- instance groups, rate limiter --------------------------------------------------------------------

@category("instance_count_two", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": 2}]
    return ""


@category("instance_count_zero", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": b.rng.choice([0, -1])}]
    return ""


@category("instance_cpu_with_gpus", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"kind": Enum("KIND_CPU"), "count": 1, "gpus": [0]}]
    return at(m, "instance_group[0].gpus")


@category("instance_kind_model", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"kind": Enum("KIND_MODEL"), "count": 1}]
    return ""


@category("instance_kind_auto", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"count": 1}]
    return ""


@category("instance_no_group", "instances")
def _(b):
    m = b.python()
    del m.config["instance_group"]
    return ""


@category("instance_names_duplicate", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"name": "grp", "kind": Enum("KIND_CPU"), "count": 1},
                                  {"name": "grp", "kind": Enum("KIND_CPU"), "count": 1}]
    return ""


@category("instance_profile_on_python", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["profile"] = ["0"]
    return at(m, "instance_group[0].profile")


@category("instance_passive", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["passive"] = True
    return ""


@category("instance_host_policy", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["host_policy"] = b.rng.choice(["policy_a", "numa0"])
    return ""


@category("rate_limiter_valid", "rate limiter")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["rate_limiter"] = {
        "resources": [{"name": "R1", "count": b.rng.randint(1, 4)}], "priority": b.rng.randint(1, 3)}
    return ""


@category("rate_limiter_global_resource", "rate limiter")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["rate_limiter"] = {"resources": [{"name": "G", "global": True, "count": 2}]}
    return ""


@category("rate_limiter_resource_twice", "rate limiter")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["rate_limiter"] = {"resources": [{"name": "R", "count": 1},
                                                                   {"name": "R", "count": 2}]}
    return at(m, "instance_group[0].rate_limiter.resources[1]")


@category("rate_limiter_priority_zero", "rate limiter")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["rate_limiter"] = {"priority": 0, "resources": [{"name": "R", "count": 1}]}
    return ""


# -- parameters the python backend reads ----------------------------------------------------------------

@category("param_force_cpu_only", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("FORCE_CPU_ONLY_INPUT_TENSORS", b.rng.choice(["yes", "no"])))
    return ""


@category("param_force_cpu_only_spelling", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("FORCE_CPU_ONLY_INPUT_TENSORS",
                                     b.rng.choice(["Yes", "NO", "true", "false", "1", "0", "off"])))
    return at(m, "parameters.FORCE_CPU_ONLY_INPUT_TENSORS")


@category("param_execution_env_missing", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("EXECUTION_ENV_PATH", b.rng.choice(
        ["$$TRITON_MODEL_DIRECTORY/env.tar.gz", "/nonexistent/env.tar.gz", "env.tar.gz"])))
    return at(m, "parameters.EXECUTION_ENV_PATH")


@category("param_unknown_key", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params((b.rng.choice(["my_setting", "threshold", "MODE"]), b.rng.choice(["1", "a b", ""])))
    return ""


@category("param_placeholder", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("tokenizer_dir", "${tokenizer_dir}"))
    return ""


@category("param_decoupled_string", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("decoupled", b.rng.choice(["true", "yes"])))
    return ""


# -- response cache, decoupled, transaction policy -----------------------------------------------------

@category("response_cache_enabled", "response cache")
def _(b):
    m = b.python()
    m.config["response_cache"] = {"enable": True}
    return ""


@category("response_cache_decoupled", "response cache")
def _(b):
    m = b.python()
    m.config["response_cache"] = {"enable": True}
    m.config["model_transaction_policy"] = {"decoupled": True}
    return at(m, "response_cache.enable")


@category("decoupled_valid", "decoupled")
def _(b):
    m = b.python()
    m.config["model_transaction_policy"] = {"decoupled": b.rng.choice([True, False])}
    return ""


@category("decoupled_with_dynamic_batching", "decoupled")
def _(b):
    m = b.python(batching=True)
    m.config["model_transaction_policy"] = {"decoupled": True}
    m.config["dynamic_batching"] = {"max_queue_delay_microseconds": 100}
    return ""


# -- repository agents --------------------------------------------------------------------------------

@category("repository_agent_unknown", "repository agents")
def _(b):
    m = b.python()
    # Misspelt standard agents. Not `checksum` itself, which lint takes as installed (the judge's
    # server has none); custom names are repository_agent_custom_undeclared.
    m.config["model_repository_agents"] = {"agents": [{"name": b.rng.choice(["checksums", "chcksum", "Checksum"])}]}
    return at(m, "model_repository_agents.agents[0].name")


@category("repository_agent_custom_undeclared", "repository agents")
def _(b):
    m = b.python()
    # A custom agent name far from every standard one: a stock Triton has no repoagents/<name>/.
    m.config["model_repository_agents"] = {"agents": [{"name": b.rng.choice(["acme_decrypt", "fetch_weights",
                                                                              "vault_unseal"])}]}
    return at(m, "model_repository_agents.agents[0].name")


@category("custom_backend_undeclared", "repository agents")
def _(b):
    m = b.python()
    # A custom backend name far from every standard one: a stock Triton has no backends/<name>/.
    m.config["backend"] = b.rng.choice(["acme_scorer", "faiss_search", "my_ranker"])
    return at(m, "backend")


@category("custom_batch_strategy_absolute_missing", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {}
    # An absolute path that no stock server has: Triton opens it as written.
    m.config["parameters"] = params(("TRITON_BATCH_STRATEGY_PATH",
                                     b.rng.choice(["/opt/acme/libbatch.so", "/usr/lib/acme_batching.so"])))
    return at(m, "parameters.TRITON_BATCH_STRATEGY_PATH")


@category("repository_agents_empty", "repository agents")
def _(b):
    m = b.python()
    m.config["model_repository_agents"] = {}
    return ""


# -- optimization ---------------------------------------------------------------------------------------

@category("optimization_priority", "optimization")
def _(b):
    m = b.python()
    m.config["optimization"] = {"priority": Enum(b.rng.choice(["PRIORITY_MAX", "PRIORITY_MIN", "PRIORITY_DEFAULT"]))}
    return ""


@category("optimization_cuda_graphs", "optimization")
def _(b):
    m = b.python()
    m.config["optimization"] = {"cuda": {"graphs": True, "busy_wait_events": True}}
    return ""


@category("optimization_pinned_memory", "optimization")
def _(b):
    m = b.python()
    m.config["optimization"] = {"input_pinned_memory": {"enable": False}, "output_pinned_memory": {"enable": False}}
    return ""


@category("optimization_accelerator", "optimization")
def _(b):
    m = b.python()
    m.config["optimization"] = {"execution_accelerators": {"cpu_execution_accelerator": [{"name": "openvino"}]}}
    return ""


@category("optimization_gather_kernel", "optimization")
def _(b):
    m = b.python()
    m.config["optimization"] = {"gather_kernel_buffer_threshold": b.rng.randint(0, 8), "eager_batching": True}
    return ""


# -- platform, backend, name ------------------------------------------------------------------------

@category("platform_and_python_backend", "platform")
def _(b):
    m = b.python()
    m.config["platform"] = b.rng.choice(["onnxruntime_onnx", "pytorch_libtorch", "tensorrt_plan"])
    return at(m, "platform")


@category("platform_unknown_without_backend", "platform")
def _(b):
    m = b.python()
    del m.config["backend"]
    m.config["platform"] = b.rng.choice(["onnx", "python", "tensorflow"])
    return at(m, "platform")


@category("backend_from_model_file", "platform")
def _(b):
    m = b.python()
    del m.config["backend"]
    return ""


@category("name_differs_from_folder", "name")
def _(b):
    m = b.python()
    m.config["name"] = b.id + "_other"
    return at(m, "name")


@category("max_priority_level_large", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"priority_levels": 2 ** b.rng.randint(8, 20), "default_priority_level": 1}
    return ""


# -- more shapes of the same areas (second round) ------------------------------------------------------

@category("no_outputs", "tensors")
def _(b):
    m = b.python()
    del m.config["output"]
    return ""


@category("no_inputs", "tensors")
def _(b):
    m = b.python()
    del m.config["input"]
    return ""


@category("input_format_none_explicit", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0]["format"] = Enum("FORMAT_NONE")
    return ""


@category("dims_huge", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0]["dims"] = [b.rng.choice([2 ** 20, 2 ** 31 - 1])]
    return ""


@category("output_reshape_empty_batching", "reshape")
def _(b):
    m = b.python(batching=True)
    m.config["output"][0].update(dims=[1], reshape={"shape": []})
    return ""


@category("max_batch_size_huge", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["max_batch_size"] = b.rng.choice([2 ** 16, 2 ** 31 - 1])
    return ""


@category("queue_policy_delay_without_ordering", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"default_queue_policy": {"timeout_action": Enum("DELAY"),
                                                             "default_timeout_microseconds": 1000,
                                                             "allow_timeout_override": True}}
    return ""


@category("preserve_ordering_one_level", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"preserve_ordering": True, "priority_levels": 1, "default_priority_level": 1}
    return ""


@category("batch_input_on_non_batching", "batching")
def _(b):
    m = b.python(batching=False)
    m.config["batch_input"] = [{"kind": Enum("BATCH_ELEMENT_COUNT"), "target_name": ["COUNT"],
                                "data_type": Enum("TYPE_INT32"), "source_input": [m.config["input"][0]["name"]]}]
    return ""


@category("sequence_controls_on_non_batching", "sequence")
def _(b):
    m = sequence(b, batching=False)
    m.config["sequence_batching"]["control_input"] = [
        control("START", "CONTROL_SEQUENCE_START", int32_false_true=[0, 1])]
    return ""


@category("sequence_slot_utilization_out_of_range", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["direct"] = {"minimum_slot_utilization": b.rng.choice([1.5, -0.5, 2.0])}
    return at(m, "sequence_batching.direct.minimum_slot_utilization")


@category("response_cache_sequence", "response cache")
def _(b):
    m = sequence(b)
    m.config["response_cache"] = {"enable": True}
    return at(m, "response_cache.enable")


@category("ensemble_scheduling_on_python", "ensemble")
def _(b):
    m = b.python(batching=False)
    m.config.pop("dynamic_batching", None)
    m.config["ensemble_scheduling"] = {"step": [{"model_name": "other", "model_version": -1,
                                                  "input_map": [{"key": "IN", "value": m.config["input"][0]["name"]}],
                                                  "output_map": [{"key": "OUT",
                                                                  "value": m.config["output"][0]["name"]}]}]}
    return at(m, "ensemble_scheduling")


@category("ensemble_optional_step_input_unmapped", "ensemble")
def _(b):
    _, helpers = b.ensemble()
    helpers[0].config["input"].append({"name": "IN2", "data_type": Enum("TYPE_FP32"), "dims": [1], "optional": True})
    return ""


@category("ensemble_step_version_under_all_policy", "ensemble")
def _(b):
    e, helpers = b.ensemble()
    helpers[0].files["2/model.py"] = MODEL_PY
    helpers[0].config["version_policy"] = {"all": {}}
    _step(e)["model_version"] = b.rng.choice([1, 2])
    return ""


@category("ensemble_step_version_not_under_policy", "ensemble")
def _(b):
    e, helpers = b.ensemble()
    helpers[0].files["2/model.py"] = MODEL_PY
    _step(e)["model_version"] = 1  # the default policy loads only the latest, 2
    return at(e, "ensemble_scheduling.step[0].model_version")


@category("ensemble_response_cache", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["response_cache"] = {"enable": True}
    return ""


@category("ensemble_warmup", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["model_warmup"] = [warmup_sample(e.config, b.rng)]
    return at(e, "model_warmup")


@category("ensemble_decoupled_policy", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["model_transaction_policy"] = {"decoupled": True}
    return ""


@category("warmup_string_random", "warmup")
def _(b):
    m = b.python()
    m.config["input"][0]["data_type"] = Enum("TYPE_STRING")
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, data="random_data")]
    return ""


@category("warmup_count_zero", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    sample["count"] = 0
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_nameless", "warmup")
def _(b):
    m = b.python()
    sample = warmup_sample(m.config, b.rng)
    del sample["name"]
    m.config["model_warmup"] = [sample]
    return ""


@category("warmup_sequence_model", "warmup")
def _(b):
    m = sequence(b)
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng)]
    return ""


@category("version_specific_duplicates", "versions")
def _(b):
    m = b.python()
    m.config["version_policy"] = {"specific": {"versions": [1, 1]}}
    return ""


@category("version_latest_more_than_exist", "versions")
def _(b):
    m = b.python()
    m.config["version_policy"] = {"latest": {"num_versions": b.rng.randint(3, 9)}}
    return ""


@category("version_folder_signed", "versions")
def _(b):
    m = b.python()
    m.files[f"+{b.rng.randint(2, 5)}/model.py"] = MODEL_PY
    return ""


@category("version_folder_negative", "versions")
def _(b):
    m = b.python()
    m.files[f"-{b.rng.randint(1, 3)}/model.py"] = MODEL_PY
    return ""


@category("version_folder_hidden", "versions")
def _(b):
    m = b.python()
    m.files[".ipynb_checkpoints/model.py"] = MODEL_PY
    return ""


@category("label_file_empty", "labels")
def _(b):
    m = b.python()
    m.config["output"][0]["label_filename"] = "labels.txt"
    m.files["labels.txt"] = ""
    return ""


@category("instance_secondary_devices", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["secondary_devices"] = [{"kind": Enum("KIND_NVDLA"), "device_id": 0}]
    return ""


@category("rate_limiter_resource_nameless", "rate limiter")
def _(b):
    m = b.python()
    m.config["instance_group"][0]["rate_limiter"] = {"resources": [{"count": 2}]}
    return ""


@category("param_execution_env_present", "parameters")
def _(b):
    m = b.python()
    m.config["parameters"] = params(("EXECUTION_ENV_PATH", "$$TRITON_MODEL_DIRECTORY/env.tar.gz"))
    m.files["env.tar.gz"] = b"not really a tar file"
    return at(m, "parameters.EXECUTION_ENV_PATH")


# -- third round ----------------------------------------------------------------------------------------

@category("ensemble_non_batching_over_batching_step", "ensemble")
def _(b):
    e, helpers = b.ensemble(batching=True)
    e.config["max_batch_size"] = 0
    return ""


@category("ensemble_batching_over_non_batching_step", "ensemble")
def _(b):
    e, helpers = b.ensemble(batching=False)
    e.config["max_batch_size"] = 4
    return at(e, "ensemble_scheduling.step[0]")


@category("ensemble_dangling_step_output", "ensemble")
def _(b):
    e, helpers = b.ensemble()
    out = helpers[0].config["output"][0]
    helpers[0].config["output"].append({"name": "OUT2", "data_type": out["data_type"], "dims": list(out["dims"])})
    _step(e)["output_map"].append({"key": "OUT2", "value": "UNUSED"})
    return ""


@category("ensemble_output_dims_wildcard", "ensemble")
def _(b):
    e, _ = b.ensemble()
    e.config["output"][0]["dims"] = [-1] * len(e.config["output"][0]["dims"])
    return ""


@category("ensemble_two_steps_same_model", "ensemble")
def _(b):
    e, helpers = b.ensemble(steps=2)
    _step(e, 1)["model_name"] = helpers[0].folder
    return ""


@category("preferred_batch_sizes_unsorted", "batching")
def _(b):
    m = b.python(batching=True)
    mbs = m.config["max_batch_size"]
    m.config["dynamic_batching"] = {"preferred_batch_size": [mbs, 1, mbs, 2]}
    return ""


@category("ragged_on_non_batching", "tensors")
def _(b):
    m = b.python(batching=False)
    m.config["input"][0]["allow_ragged_batch"] = True
    return ""


@category("output_shape_tensor_on_python", "tensors")
def _(b):
    m = b.python(batching=True)
    m.config["output"][0]["is_shape_tensor"] = True
    return at(m, "output[0].is_shape_tensor")


@category("bf16_tensors", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0]["data_type"] = Enum("TYPE_BF16")
    return ""


@category("tensor_names_odd", "tensors")
def _(b):
    m = b.python()
    m.config["input"][0]["name"] = b.rng.choice(["input:0", "in put", "x/y.z", "ünï"])
    return ""


@category("warmup_bool_random", "warmup")
def _(b):
    m = b.python()
    for io in m.config["input"]:
        io["data_type"] = Enum("TYPE_BOOL")
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng, data="random_data")]
    return ""


@category("warmup_optional_input_given", "warmup")
def _(b):
    m = b.python()
    m.config["input"][0]["optional"] = True
    m.config["model_warmup"] = [warmup_sample(m.config, b.rng)]
    return ""


@category("warmup_data_file_for_string", "warmup")
def _(b):
    m = b.python()
    io = m.config["input"][0]
    io.update(data_type=Enum("TYPE_STRING"), dims=[1])
    sample = warmup_sample(m.config, b.rng)
    value = sample["inputs"][0]["value"]
    del value["zero_data"]
    value["input_data_file"] = "text.bin"
    word = b"hello"
    m.files["warmup/text.bin"] = len(word).to_bytes(4, "little") + word
    m.config["model_warmup"] = [sample]
    return ""


@category("sequence_state_initial_zero", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{
        "input_name": "STATE_IN", "output_name": "STATE_OUT", "data_type": Enum("TYPE_FP32"), "dims": [2],
        "initial_state": [{"name": "init", "data_type": Enum("TYPE_FP32"), "dims": [2], "zero_data": True}]}]
    return ""


@category("sequence_state_initial_wrong_type", "sequence")
def _(b):
    m = sequence(b)
    m.config["sequence_batching"]["state"] = [{
        "input_name": "STATE_IN", "output_name": "STATE_OUT", "data_type": Enum("TYPE_FP32"), "dims": [2],
        "initial_state": [{"name": "init", "data_type": Enum("TYPE_INT32"), "dims": [2], "zero_data": True}]}]
    return at(m, "sequence_batching.state[0].initial_state[0].data_type")


@category("sequence_state_duplicate", "sequence")
def _(b):
    m = sequence(b)
    state = {"input_name": "STATE_IN", "output_name": "STATE_OUT", "data_type": Enum("TYPE_FP32"), "dims": [2]}
    m.config["sequence_batching"]["state"] = [state, dict(state, output_name="STATE_OUT2")]
    return at(m, "sequence_batching.state[1].input_name")


@category("priority_queue_policy_valid_timeouts", "batching")
def _(b):
    m = b.python(batching=True)
    m.config["dynamic_batching"] = {"priority_levels": 2, "default_priority_level": 2, "priority_queue_policy": [
        {"key": 1, "value": {"timeout_action": Enum("DELAY"), "default_timeout_microseconds": 100,
                             "max_queue_size": 2}}]}
    return ""


@category("optimization_graph_spec", "optimization")
def _(b):
    m = b.python(batching=True)
    m.config["optimization"] = {"cuda": {"graphs": True, "graph_spec": [{"batch_size": 2}]}}
    return ""


@category("instance_groups_several", "instances")
def _(b):
    m = b.python()
    m.config["instance_group"] = [{"name": "a", "kind": Enum("KIND_CPU"), "count": 1},
                                  {"name": "b", "kind": Enum("KIND_CPU"), "count": 1}]
    return ""


@category("version_specific_zero", "versions")
def _(b):
    m = b.python()
    m.files["0/model.py"] = MODEL_PY
    m.config["version_policy"] = {"specific": {"versions": [0]}}
    return ""


# -- generation -----------------------------------------------------------------------------------------

def _case_id(name: str, n: int) -> str:
    return f"{name}-{n:02d}"


def generate(seed: int = DEFAULT_SEED, only=None) -> list:
    """Every case for `seed`, in a stable order. `only`: a set of case ids to keep."""
    cases = []
    for cat in CATEGORIES:
        for n in range(cat.count):
            case_id = _case_id(cat.name, n)
            if only is not None and case_id not in only:
                continue
            b = Builder(random.Random(f"{seed}:{case_id}"), case_id)
            where = cat.make(b)
            cases.append(Case(case_id, cat.name, cat.area, b.main, where, b.models))
    return cases


def write_case(case: Case, root) -> None:
    root = Path(root)
    for model in case.models:
        folder = root / model.folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.pbtxt").write_text(render(model.config) + "\n")
        for rel, content in model.files.items():
            target = folder / rel
            if content is EMPTY_DIR:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

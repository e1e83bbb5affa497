"""The parts of rollout/status that need no server: URLs, version policies, config comparison,
load order, request building, perf summaries, the target gate."""
import os
import stat

import numpy as np
import pytest
from google.protobuf import json_format, text_format

from compiler.errors import FatalError
from compiler.manifest import load_manifest
from compiler.proto import ModelConfig
from compiler.rollout.client import parse_url
from compiler.rollout.compare import config_differences
from compiler.rollout.explicit_load import load_order
from compiler.rollout.perf import measure, percentile
from compiler.rollout.served import expected_versions
from compiler.rollout.smoke import request_inputs
from tests.helpers import run_cli, write
from tests.rollout.live import write_manifest, write_sources


@pytest.mark.parametrize("url, expected", [
    ("localhost:8000", "http://localhost:8000"), ("http://triton", "http://triton:8000"),
    ("grpc://triton", "grpc://triton:8001"), ("grpcs://t:443", "grpcs://t:443"), ("https://t", "https://t:8000"),
    ("http://[::1]:9000", "http://[::1]:9000")])
def test_urls(url, expected):
    assert str(parse_url(url)) == expected


def test_bad_url():
    with pytest.raises(FatalError, match="expected http://HOST:PORT"):
        parse_url("ftp://x")


@pytest.fixture
def manifest(tmp_path):
    write_sources(tmp_path)
    loaded = load_manifest(write_manifest(tmp_path, versions=(1, 2, 3)))
    assert loaded.ok, loaded.problems
    return loaded.manifest


@pytest.mark.parametrize("policy, expected", [(None, {3}), ("all", {1, 2, 3}), ({"latest": {"num_versions": 2}}, {2, 3}),
                                              ({"specific": {"versions": [1, 3, 7]}}, {1, 3})])
def test_expected_versions_follow_the_policy(manifest, policy, expected):
    model = manifest.models["add"]
    if policy == "all":
        model.config.version_policy.all.SetInParent()
    elif policy:
        json_format.ParseDict(policy, model.config.version_policy)
    assert expected_versions(model) == expected


# The server's view of a python model with dynamic batching, as Triton 2.51 reports it.
SERVED = """name: "add" version_policy { latest { num_versions: 1 } } max_batch_size: 4
input { name: "X" data_type: TYPE_FP32 dims: 2 } output { name: "Y" data_type: TYPE_FP32 dims: 2 }
instance_group { name: "add_0" count: 1 kind: KIND_CPU } default_model_filename: "model.py"
dynamic_batching { preferred_batch_size: 4 max_queue_delay_microseconds: 100 }
optimization { input_pinned_memory { enable: true } output_pinned_memory { enable: true } }
model_warmup { name: "twos" batch_size: 1 inputs { key: "X" value { data_type: TYPE_FP32 dims: 2
  input_data_file: "0_X" } } }
backend: "python"
"""


def test_tritons_fill_ins_are_no_difference_but_edits_and_removals_are(manifest):
    ours = manifest.models["add"].config
    served = text_format.Parse(SERVED, ModelConfig())
    assert config_differences(ours, served, "add") == []
    served.dynamic_batching.max_queue_delay_microseconds = 5
    served.instance_group[0].count = 2
    assert sorted(p for p, _, _ in config_differences(ours, served, "add")) == [
        "dynamic_batching.max_queue_delay_microseconds", "instance_group[0].count"]
    served = text_format.Parse(SERVED, ModelConfig())
    ours.ClearField("dynamic_batching")  # removed from git: Triton never adds it by itself
    assert config_differences(ours, served, "add") == [
        ("dynamic_batching", None, {"preferred_batch_size": [4], "max_queue_delay_microseconds": 100})]
    ours.max_batch_size = 0
    assert ("max_batch_size", 0, 4) in config_differences(ours, served, "add")


def test_versions_and_other_64_bit_numbers_are_shown_as_numbers(manifest):
    from compiler.rollout.compare import describe

    ours = manifest.models["add"].config
    ours.version_policy.specific.versions.extend([1, 2])
    served = text_format.Parse(SERVED.replace("latest { num_versions: 1 }", "specific { versions: 1 }"), ModelConfig())
    served.input[0].dims[0] = 3
    found = {path: (mine, theirs) for path, mine, theirs in config_differences(ours, served, "add")}
    assert found["version_policy.specific.versions"] == ([1, 2], [1])
    assert found["input[0].dims[0]"] == (2, 3)
    assert describe(("version_policy.specific.versions", [1, 2], [1])) == \
        "version_policy.specific.versions: manifest [1,2], server [1]"


def test_fill_ins_inside_blocks_the_manifest_sets(manifest):
    ours = manifest.models["add"].config
    served = text_format.Parse(SERVED, ModelConfig())
    ours.optimization.priority = served.optimization.priority = 1
    ours.sequence_batching.SetInParent()
    served.sequence_batching.max_sequence_idle_microseconds = 1000000
    assert config_differences(ours, served, "add") == []
    ours.sequence_batching.max_sequence_idle_microseconds = 5
    assert [p for p, _, _ in config_differences(ours, served, "add")] == [
        "sequence_batching.max_sequence_idle_microseconds"]


def test_ensembles_load_after_their_steps():
    class Model:
        def __init__(self, text):
            self.config = text_format.Parse(text, ModelConfig())

    step = 'platform: "ensemble" ensemble_scheduling {{ step {{ model_name: "{}" }} }}'
    models = {"a_ens": Model(step.format("z_ens")), "z_ens": Model(step.format("m")), "m": Model(""),
              "b": Model("")}
    assert load_order(models) == ["b", "m", "z_ens", "a_ens"]


def test_requests_come_from_warmup_data_or_zeros(manifest, tmp_path):
    (name, array, datatype, source), = request_inputs(manifest.models["add"], manifest.root)
    assert (name, datatype, source) == ("X", "FP32", "warmup data")
    np.testing.assert_array_equal(array, np.array([[2.0, 2.0]], dtype=np.float32))  # batch of 1
    (name, array, datatype, source), = request_inputs(manifest.models["echo"], manifest.root)
    assert (array.shape, source) == ((1,), "zeros")  # -1 becomes 1; no batch dimension


def test_strings_and_warmup_files(tmp_path):
    write(tmp_path / "m.py", "")
    (tmp_path / "raw").write_bytes(b"\x02\x00\x00\x00hi")
    write(tmp_path / "models.yaml", """version: 1
models:
  s:
    backend: python
    max_batch_size: 2
    input: [{name: T, data_type: STRING, dims: [1]}, {name: U, data_type: STRING, dims: [2]}]
    output: [{name: O, data_type: STRING, dims: [1]}]
    model_warmup:
      - name: w
        batch_size: 1
        inputs:
          T: {data_type: STRING, dims: [1], file: raw}
          U: {data_type: STRING, dims: [2], zero_data: true}
    versions: {1: {source: m.py}}
""")
    loaded = load_manifest(tmp_path / "models.yaml")
    assert loaded.ok, loaded.problems
    t, u = request_inputs(loaded.manifest.models["s"], loaded.manifest.root)
    assert t[1].tolist() == [[b"hi"]] and t[3] == "warmup file raw"
    assert u[1].tolist() == [[b"", b""]] and u[2:] == ("BYTES", "warmup zero_data")


def test_percentiles():
    assert percentile([], 0.5) == 0.0
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50, 99, 100)


FAKE_PERF_ANALYZER = """#!/bin/sh
# Stands in for NVIDIA's perf_analyzer: records its arguments, writes a CSV report like the real one.
echo "$@" > "$(dirname "$0")/args"
while [ $# -gt 0 ]; do [ "$1" = "-f" ] && out="$2"; shift; done
printf 'Concurrency,Inferences/Second,Client Send,p50 latency,p90 latency,p95 latency,p99 latency\\n' > "$out"
printf '2,812.5,10,2400,2900,3100,4800\\n' >> "$out"
"""


def test_perf_analyzer_is_used_when_on_path(manifest, tmp_path, monkeypatch):
    binary = write(tmp_path / "bin" / "perf_analyzer", FAKE_PERF_ANALYZER)
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    result = measure(manifest.models["add"], parse_url("grpc://h:1"), manifest.root, 2, 1.5)
    assert (result.tool, result.per_second, result.p50_ms, result.p99_ms) == ("perf_analyzer", 812.5, 2.4, 4.8)
    args = (binary.parent / "args").read_text().split()
    assert args[:6] == ["-m", "add", "-u", "h:1", "-i", "grpc"]
    assert "--shape" in args and "X:2" in args and "1500" in args


def test_rollout_asks_the_servers_before_it_reads_the_target(tmp_path):
    # An unreachable server stops the rollout before the target is planned (the manifest is
    # loaded once for that); the target gate with a live server: tests/rollout/test_rollout_s3.py.
    write_sources(tmp_path)
    path = write_manifest(tmp_path, versions=(1,))
    assert run_cli("sync", path, "--target", "local")[0] == 0
    write_manifest(tmp_path, versions=(1, 2))  # edited, not synced
    code, out, err = run_cli("rollout", path, "--target", "local", "--triton-url", "127.0.0.1:1")
    assert code == 1 and "is not reachable" in err and "does not hold this manifest" not in err


def _me(protocol, port, index=(("add", "1", "READY"),), name="triton"):
    from compiler.rollout.server import Identity

    return Identity(name, "2.51.0", ["model_repository"], protocol, [f"{protocol}://127.0.0.1:{port}"],
                    ["127.0.0.1"], list(index))


def test_a_server_is_found_by_address_or_by_what_it_says_at_a_recorded_address():
    from compiler.rollout.server import find_entry

    entry = {"name": "triton", "version": "2.51.0", "hosts": ["127.0.0.1"], "addresses": ["http://127.0.0.1:8000"]}
    assert find_entry([entry], _me("http", 8000), ask=lambda a: None) is entry
    # The other protocol on the same host: only if the recorded address answers the same now.
    assert find_entry([entry], _me("grpc", 8001), ask=lambda a: _me("http", 8000)) is entry
    assert find_entry([entry], _me("grpc", 8001), ask=lambda a: None) is None  # gone: not assumed
    assert find_entry([entry], _me("grpc", 8001), ask=lambda a: _me("http", 8000, index=())) is None
    assert find_entry([entry], _me("grpc", 8001, name="replica-2"), ask=lambda a: _me("http", 8000)) is None
    # The same protocol on another port is another server, whatever it says.
    assert find_entry([entry], _me("http", 9000), ask=lambda a: _me("http", 8000)) is None

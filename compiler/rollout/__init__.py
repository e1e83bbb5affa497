"""Talking to a live Triton: roll a manifest out (load/unload through the repository API in
EXPLICIT mode), report drift, smoke-test and load-test what changed.

`client` wraps tritonclient (HTTP or gRPC), `served` turns the repository index and the
version policies into comparable sets, `compare` decides whether a served config says what
the manifest says, `drift` lists every difference, `explicit_load` acts on them, `smoke` and
`perf` exercise what was loaded, `target_check` asks the sync stage whether the target
already holds the manifest.
"""

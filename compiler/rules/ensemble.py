"""Ensembles: what an ensemble may carry and the data flow between its steps
(Triton's ValidateEnsembleSchedulingConfig). The step models are checked in ensemble_steps."""
from __future__ import annotations

from compiler.rules import ensemble_steps
from compiler.rules.base import ENSEMBLE, error, model_name, suggest


class _Node:
    __slots__ = ("consumed_by", "name", "prev", "produced_by", "ready")

    def __init__(self, name):
        self.name, self.produced_by, self.consumed_by, self.ready, self.prev = name, [], [], False, []


def _structure(config, name) -> list:
    out = []
    if config.instance_group:
        out.append(error("ensemble-field", f"instance group should not be specified for ensemble '{name}'",
                         ("instance_group",), hint="an ensemble runs no instances; configure them on the step models"))
    if config.HasField("optimization"):
        out.append(error("ensemble-field", f"optimization should not be specified for ensemble '{name}'",
                         ("optimization",), hint="set optimization on the step models instead"))
    if config.model_warmup:
        out.append(error("ensemble-field", f"model_warmup can not be specified for ensemble '{name}'",
                         ("model_warmup",), hint="warm up the step models instead"))
    if not config.ensemble_scheduling.step:
        out.append(error("ensemble-steps", f"must specify 'step' for ensemble '{name}'", ("ensemble_scheduling",),
                         hint="list the models the ensemble runs under `ensemble_scheduling { step [ ... ] }`"))
    return out


def _graph(config, name) -> list:
    """Tensor graph of the steps: every tensor written once, every input used, every output written."""
    out = []
    nodes: dict = {}
    steps = config.ensemble_scheduling.step

    def node(tensor):
        return nodes.setdefault(tensor, _Node(tensor))

    for s, step in enumerate(steps):
        path = ("ensemble_scheduling", "step", s)
        for field in ("model_name", "input_map", "output_map"):
            if not getattr(step, field):
                out.append(error("ensemble-step-field", f"must specify '{field}' in step {s} of ensemble '{name}'",
                                 path + (field,), hint={"model_name": "name the model this step runs",
                                                        "input_map": "map the step model's inputs to ensemble tensors",
                                                        "output_map": "map the step model's outputs to ensemble "
                                                                      "tensors"}[field]))
        for model_output in sorted(step.output_map):
            tensor = step.output_map[model_output]
            if node(tensor).produced_by:
                out.append(error("ensemble-tensor-written-twice",
                                 f"ensemble tensor '{tensor}' can appear in an output map only once for ensemble "
                                 f"'{name}' step {s}", path + ("output_map", model_output),
                                 hint=f"already written by step {node(tensor).produced_by[0]}; rename one of them"))
            node(tensor).produced_by.append(s)
        for model_input in sorted(step.input_map):
            node(step.input_map[model_input]).consumed_by.append(s)
    for tensor in nodes.values():
        for s in tensor.produced_by:
            tensor.prev.extend(nodes[t] for t in steps[s].input_map.values())
    # Readiness flows from the ensemble inputs through the steps.
    for i, io in enumerate(config.input):
        if io.name not in nodes:
            out.append(error("ensemble-input-unused", f"ensemble input '{io.name}' for ensemble {name}' is not used",
                             ("input", i, "name"), hint="map it into a step's input_map, or remove it"))
            continue
        nodes[io.name].ready = True
    changed = True
    while changed:
        changed = False
        for tensor in nodes.values():
            if not tensor.ready and tensor.produced_by and all(p.ready for p in tensor.prev):
                tensor.ready = changed = True
    outputs = set()
    for i, io in enumerate(config.output):
        outputs.add(io.name)
        tensor = nodes.get(io.name)
        if tensor is None:
            close = suggest(io.name, nodes)
            out.append(error("ensemble-output-unwritten", f"ensemble output '{io.name}' for ensemble {name}' is not used",
                             ("output", i, "name"),
                             hint="map a step output to it in an output_map" + (f" ({close})" if close else "")))
        elif not tensor.ready:
            culprit = _first_not_ready(tensor)
            detail = (f": at least one of its depending tensors, '{culprit}', is not connected"
                      if culprit and culprit != tensor.name else "")
            out.append(error("ensemble-output-unwritten", f"output '{io.name}' for ensemble '{name}' is not written{detail}",
                             ("output", i, "name"),
                             hint="every tensor a step reads must be an ensemble input or written by another step"))
    inputs = {io.name for io in config.input}
    for tensor in nodes.values():
        if tensor.name not in outputs and not (tensor.ready and tensor.consumed_by):
            out.append(error("ensemble-tensor-unused", f"ensemble tensor '{tensor.name}' is unused in ensemble '{name}'",
                             _tensor_path(steps, tensor), hint=_unused_hint(tensor, inputs, nodes)))
    out.extend(_cycles(steps, name))
    return out


def _unused_hint(tensor, inputs, nodes) -> str:
    if not tensor.produced_by and tensor.name not in inputs:
        close = suggest(tensor.name, nodes.keys() - {tensor.name})
        return (f"step {tensor.consumed_by[0]} reads '{tensor.name}' but no step writes it and it is not an ensemble "
                "input" + (f" ({close})" if close else ""))
    if not tensor.consumed_by:
        return "no step reads it and it is not an ensemble output; drop the mapping or add it to `output`"
    return "it depends on a tensor that is never written"


def _first_not_ready(tensor):
    seen, current, culprit = set(), tensor, None
    while True:
        nxt = next((p for p in current.prev if not p.ready and p.name not in seen), None)
        if nxt is None:
            return culprit
        seen.add(nxt.name)
        culprit, current = nxt.name, nxt


def _tensor_path(steps, tensor) -> tuple:
    for s, step in enumerate(steps):
        for key in sorted(step.input_map):
            if step.input_map[key] == tensor.name:
                return ("ensemble_scheduling", "step", s, "input_map", key)
        for key in sorted(step.output_map):
            if step.output_map[key] == tensor.name:
                return ("ensemble_scheduling", "step", s, "output_map", key)
    return ("ensemble_scheduling",)


def _cycles(steps, name) -> list:
    writers: dict = {}
    for s, step in enumerate(steps):
        for tensor in step.output_map.values():
            writers.setdefault(tensor, s)
    after = {s: sorted({writers[t] for t in step.input_map.values() if t in writers}) for s, step in enumerate(steps)}
    state: dict = {}
    out = []

    def visit(s, trail):
        state[s] = 1
        for prev in after[s]:
            if state.get(prev) == 1:
                loop = trail[trail.index(prev):]
                what = (f"step {prev} of ensemble '{name}' reads a tensor it writes itself" if len(loop) == 1 else
                        f"steps {' -> '.join(map(str, loop + [prev]))} of ensemble '{name}' feed each other in a cycle")
                out.append(error("ensemble-cycle", f"{what}, so it can never run", ("ensemble_scheduling", "step", prev),
                                 hint="an ensemble is a directed acyclic graph; break the loop"))
            elif prev not in state:
                visit(prev, trail + [prev])
        state[s] = 2

    for s in range(len(steps)):
        if s not in state:
            visit(s, [s])
    return out


def check(config, ctx) -> list:
    name = model_name(config, ctx)
    is_ensemble = config.platform == ENSEMBLE
    if config.HasField("ensemble_scheduling") and not is_ensemble:
        return [error("ensemble-not-ensemble",
                      f"ensemble scheduling cannot be set for model '{name}' whose platform is not ensemble",
                      ("ensemble_scheduling",), hint="remove `ensemble_scheduling`, or set `platform: \"ensemble\"`")]
    if not is_ensemble:
        return []
    if not config.HasField("ensemble_scheduling"):
        return [error("ensemble-scheduling-missing",
                      f"ensemble scheduling must be set for ensemble {name} whose platform is ensemble", ("platform",),
                      hint="add `ensemble_scheduling { step [ ... ] }`")]
    return _structure(config, name) + _graph(config, name) + ensemble_steps.check_steps(config, ctx, name)

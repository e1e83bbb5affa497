"""The one python-backend model every generated case serves.

It answers any request with zeros shaped as its config's outputs (variable dims as 1, the batch
of the first input in front when the model batches), one response per request, or through the
response sender when the model is decoupled. Warmup runs it at load time, so it must never fail.
"""

MODEL_PY = '''\
import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.batching = int(config.get("max_batch_size", 0)) > 0
        self.decoupled = bool(config.get("model_transaction_policy", {}).get("decoupled", False))
        self.outputs = []
        for out in config.get("output", []):
            dims = out.get("reshape", {}).get("shape", out.get("dims", []))
            self.outputs.append((out["name"], out["data_type"], [int(d) for d in dims]))

    def _response(self, request):
        batch = 1
        inputs = request.inputs()
        if self.batching and inputs and len(inputs[0].shape()) > 0:
            batch = int(inputs[0].shape()[0])
        tensors = []
        for name, data_type, dims in self.outputs:
            shape = ([batch] if self.batching else []) + [d if d > 0 else 1 for d in dims]
            if data_type == "TYPE_STRING":
                array = np.full(shape, b"", dtype=np.object_)
            else:
                array = np.zeros(shape, dtype=pb_utils.triton_string_to_numpy(data_type))
            tensors.append(pb_utils.Tensor(name, array))
        return pb_utils.InferenceResponse(output_tensors=tensors)

    def execute(self, requests):
        if self.decoupled:
            for request in requests:
                sender = request.get_response_sender()
                sender.send(self._response(request), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            return None
        return [self._response(request) for request in requests]
'''

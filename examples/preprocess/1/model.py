"""Turns each text into four numeric features: length, vowels, digits, spaces."""
import numpy as np
import triton_python_backend_utils as pb_utils


def features(text: str) -> list:
    return [len(text), sum(c in "aeiouAEIOU" for c in text), sum(c.isdigit() for c in text), text.count(" ")]


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy()  # [batch, 1] of bytes
            rows = [features(t[0].decode("utf-8") if isinstance(t[0], bytes) else str(t[0])) for t in texts]
            out = pb_utils.Tensor("FEATURES", np.asarray(rows, dtype=np.float32))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses

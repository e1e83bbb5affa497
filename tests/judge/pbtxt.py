"""Render a model configuration held as plain Python data into protobuf text format.

The generator keeps configs as dicts (not ModelConfig messages) so that a mutation can write
anything the text format can say, independent of the package under test:

- str -> "quoted"; `Enum("KIND_CPU")` -> KIND_CPU; bool -> true/false; int/float as is;
- dict -> a message block; a list of dicts -> repeated messages (map fields are written as
  their entries, {"key": ..., "value": ...}); a list of scalars -> [ a, b ].
"""
from __future__ import annotations

import json


class Enum(str):
    """An enum value: written without quotes."""


def _scalar(value) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a protobuf text string accepts JSON's escapes
    raise TypeError(f"cannot render {value!r}")


def render(message: dict, indent: int = 0) -> str:
    pad = "  " * indent
    lines = []
    for key, value in message.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key} {{")
            lines.append(render(value, indent + 1))
            lines.append(f"{pad}}}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{pad}{key} [")
            for n, item in enumerate(value):
                lines.append(f"{pad}  {{")
                lines.append(render(item, indent + 2))
                lines.append(f"{pad}  }}" + ("," if n < len(value) - 1 else ""))
            lines.append(f"{pad}]")
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: [ " + ", ".join(_scalar(v) for v in value) + " ]")
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(line for line in lines if line.strip())

"""The tool itself, as the answers kept between runs see it: one digest that changes whenever
the code that makes an answer could. Compile's build record (build_record.py) and the fast
path's kept answers (compiler/fastpath/cache_file.py) are both stamped with it, and read back
only by the same tool. Light on purpose: a replayed answer imports this, and it locates the
packages it stamps without importing them."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path

from compiler import __version__
from compiler.storage.files import stat_key

# Other packages whose files make an answer: protobuf and tritonclient render and parse the
# model configs, and onnx, optional, decides whether the rules check ONNX graphs (without it
# they skip them, with a note: installing it must bring them back). An upgrade rewrites
# these files, which changes their stamps; an absent package is part of the digest too.
_PACKAGES = (("google.protobuf", ("__init__.py", "text_format.py", "json_format.py")),
             ("tritonclient", ("__init__.py", "grpc/model_config_pb2.py")),
             ("onnx", ("__init__.py",)))

_FINGERPRINT: list = []  # taken once a process (tests empty it to act as a new process)


def fingerprint() -> bytes:
    """The tool (hex sha256): its version and Python's, the stamps of every .py and .json file
    of this package (an edited checkout is another tool) and of the files of _PACKAGES."""
    if not _FINGERPRINT:
        digest = hashlib.sha256(f"{__version__}\0{sys.version}\n".encode())
        package = Path(__file__).resolve().parents[1]
        for folder, subfolders, names in os.walk(package):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(names):
                if name.endswith((".py", ".json")):
                    path = os.path.join(folder, name)
                    digest.update(f"{path}\0{_stamp(path)}\n".encode())
        for package_name, package_files in _PACKAGES:
            spec = importlib.util.find_spec(package_name)  # located, not imported (onnx: ~220 ms)
            package_folder = os.path.dirname(spec.origin) if spec is not None and spec.origin else ""
            if not package_folder:
                digest.update(f"{package_name}\0absent\n".encode())
                continue
            for name in package_files:
                path = os.path.join(package_folder, name)
                digest.update(f"{path}\0{_stamp(path)}\n".encode())
        _FINGERPRINT.append(digest.hexdigest().encode())
    return _FINGERPRINT[0]


def _stamp(path: str) -> list:
    """The hash index's stat key of a file (a link's target), [] when it cannot be read: any
    write changes mtime or ctime, a replacement the inode."""
    try:
        return stat_key(os.stat(path))
    except (OSError, ValueError):
        return []

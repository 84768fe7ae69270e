"""Whether the NVIDIA driver library loads: torch-free, so the diagnostics can ask even without torch."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def nvidia_driver_loadable() -> bool:
    """Every CUDA runtime (torch, ONNX Runtime) needs this library; without it CUDA cannot work at all."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", ctypes.util.find_library("cuda")]
    for name in filter(None, names):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False

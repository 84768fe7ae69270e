"""What can run where: PyTorch and ONNX Runtime, their GPU support, and why a GPU is not used when it is not.

Users see "it runs on the CPU" and ask why; the answer is nearly always one of: a CPU-only torch wheel, no NVIDIA
driver, no visible device, or ONNX Runtime listing CUDA but falling back at session creation (onnxruntime-gpu lists
its CUDA/TensorRT providers even where they cannot start). So besides listing providers, this module opens a real
ONNX Runtime session on a tiny in-memory model and reports which provider it actually got.

Qt-free; ``python -m sapiens_core.diagnostics`` prints the same text the app's diagnostics view shows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict, dataclass, field

from .cuda_driver import nvidia_driver_loadable

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


# ---- a minimal ONNX model, encoded by hand ------------------------------------------------------------------------
# The `onnx` package is only a dev dependency, so the probe model is written as raw protobuf: one Identity node
# mapping a float[1] input "x" to output "y". Field numbers follow onnx.proto (ModelProto, GraphProto, ...).


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3 | 0) + _varint(value)


def _field_bytes(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str) -> bytes:
    dim = _field_varint(1, 1)  # Dimension.dim_value = 1
    shape = _field_bytes(1, dim)  # TensorShapeProto.dim
    tensor = _field_varint(1, 1) + _field_bytes(2, shape)  # Tensor.elem_type = FLOAT, Tensor.shape
    type_proto = _field_bytes(1, tensor)  # TypeProto.tensor_type
    return _field_bytes(1, name) + _field_bytes(2, type_proto)  # ValueInfoProto.name, .type


def tiny_onnx_model(ir_version: int = 7, opset: int = 13) -> bytes:
    """Serialized ModelProto of ``y = Identity(x)`` with x, y float[1]; any ONNX Runtime can load it."""
    node = _field_bytes(1, "x") + _field_bytes(2, "y") + _field_bytes(4, "Identity")
    graph = (
        _field_bytes(1, node)
        + _field_bytes(2, "probe")
        + _field_bytes(11, _value_info("x"))
        + _field_bytes(12, _value_info("y"))
    )
    opset_import = _field_bytes(1, "") + _field_varint(2, opset)
    return (
        _field_varint(1, ir_version)
        + _field_bytes(2, "sapiens-studio-diagnostics")
        + _field_bytes(7, graph)
        + _field_bytes(8, opset_import)
    )


# ---- the report ---------------------------------------------------------------------------------------------------


@dataclass
class GpuInfo:
    index: int
    name: str
    memory_bytes: int | None = None
    capability: str | None = None


@dataclass
class DeviceReport:
    python: str = ""
    platform: str = ""
    cuda_visible_devices: str | None = None  # None: unset (all devices visible); "" or "-1": hides every GPU
    nvidia_driver: bool = False  # libcuda / nvcuda.dll loadable
    # PyTorch
    torch_version: str | None = None  # None: not importable (torch_error says why)
    torch_error: str | None = None
    torch_cuda_build: str | None = None  # torch.version.cuda; None for a CPU-only build
    torch_hip_build: str | None = None
    torch_cuda_available: bool = False
    torch_devices: list[GpuInfo] = field(default_factory=list)
    torch_cuda_problem: str | None = None  # why torch does not use CUDA; None when it does
    torch_threads: int | None = None
    # ONNX Runtime
    ort_version: str | None = None
    ort_error: str | None = None
    ort_available: list[str] = field(default_factory=list)
    ort_requested: list[str] = field(default_factory=list)  # providers the probe session asked for
    ort_session: list[str] | None = None  # providers the probe session actually got; None: not probed
    ort_probe_error: str | None = None
    ort_cuda_problem: str | None = None
    ort_preload_dlls: bool = False

    @property
    def torch_device(self) -> str:
        """Where "auto" runs a torch model (TorchScript, ExportedProgram, .pth)."""
        return "cuda" if self.torch_version and self.torch_cuda_problem is None else "cpu"

    @property
    def onnx_device(self) -> str:
        """Where "auto" runs an ONNX model, as far as the probe session tells."""
        return "cuda" if self.ort_session and self.ort_session[0] == CUDA_PROVIDER else "cpu"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["torch_device"], data["onnx_device"] = self.torch_device, self.onnx_device
        return data

    def summary(self) -> str:
        """One line for a status badge."""
        if self.torch_device == "cuda":
            names = ", ".join(d.name for d in self.torch_devices) or "GPU"
            return f"CUDA ({names})"
        reason = self.torch_cuda_problem or self.torch_error or "unknown reason"
        return f"CPU only: {reason}"

    def as_text(self) -> str:
        yes = {True: "yes", False: "no"}
        lines = [
            "Sapiens Studio — device diagnostics",
            "",
            f"Python {self.python} on {self.platform}",
            f"NVIDIA driver loadable: {yes[self.nvidia_driver]}",
            "CUDA_VISIBLE_DEVICES: "
            + ("(not set)" if self.cuda_visible_devices is None else repr(self.cuda_visible_devices)),
            f"Torch models (TorchScript, ExportedProgram, .pth) with device 'auto' run on: {self.torch_device.upper()}",
            f"ONNX models with device 'auto' run on: {self.onnx_device.upper()}",
            "",
            "PyTorch",
        ]
        if self.torch_version is None:
            lines.append(f"  not available: {self.torch_error}")
        else:
            build = (
                f"CUDA {self.torch_cuda_build}"
                if self.torch_cuda_build
                else f"ROCm/HIP {self.torch_hip_build}"
                if self.torch_hip_build
                else "CPU-only build"
            )
            lines += [
                f"  version: {self.torch_version}",
                f"  built with: {build}",
                f"  torch.cuda.is_available(): {self.torch_cuda_available}",
                f"  CUDA devices: {len(self.torch_devices)}",
            ]
            for gpu in self.torch_devices:
                memory = f", {gpu.memory_bytes / 2**30:.1f} GiB" if gpu.memory_bytes else ""
                capability = f", compute capability {gpu.capability}" if gpu.capability else ""
                lines.append(f"    [{gpu.index}] {gpu.name}{memory}{capability}")
            lines.append(f"  CPU threads: {self.torch_threads}")
            lines.append(
                "  CUDA is used"
                if self.torch_cuda_problem is None
                else f"  CUDA is not used: {self.torch_cuda_problem}"
            )
        lines += ["", "ONNX Runtime"]
        if self.ort_version is None:
            lines.append(f"  not available: {self.ort_error}")
        else:
            lines += [
                f"  version: {self.ort_version}",
                f"  available providers: {', '.join(self.ort_available) or 'none'}",
            ]
            if self.ort_session is not None:
                lines.append(
                    f"  a test session asked for {', '.join(self.ort_requested)} and got: {', '.join(self.ort_session)}"
                )
            else:
                lines.append(f"  test session failed: {self.ort_probe_error}")
            lines.append(
                "  CUDA is used" if self.ort_cuda_problem is None else f"  CUDA is not used: {self.ort_cuda_problem}"
            )
            lines.append(
                f"  onnxruntime.preload_dlls(): {'available' if self.ort_preload_dlls else 'not available'}"
                " (loads CUDA/cuDNN libraries installed as pip packages)"
            )
        return "\n".join(lines) + "\n"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


def _fill_torch(report: DeviceReport) -> None:
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - a broken install (missing DLL) raises more than ImportError
        report.torch_error = f"cannot import torch ({_first_line(error)})"
        return
    # The same reasoning as the backends' resolve_device, so this view and the runtime never disagree.
    from .backends.device import torch_cuda_problem

    report.torch_version = torch.__version__
    report.torch_cuda_build = torch.version.cuda
    report.torch_hip_build = getattr(torch.version, "hip", None)
    report.torch_threads = torch.get_num_threads()
    report.torch_cuda_problem = torch_cuda_problem()
    try:
        report.torch_cuda_available = bool(torch.cuda.is_available())
        count = torch.cuda.device_count() if report.torch_cuda_available else 0
        for index in range(count):
            props = torch.cuda.get_device_properties(index)
            report.torch_devices.append(
                GpuInfo(index, props.name, int(props.total_memory), f"{props.major}.{props.minor}")
            )
    except Exception as error:  # noqa: BLE001 - driver/runtime mismatches surface here
        report.torch_cuda_problem = report.torch_cuda_problem or f"CUDA could not be queried ({_first_line(error)})"


def _ort_cuda_problem(report: DeviceReport) -> str | None:
    if CUDA_PROVIDER not in report.ort_available:
        return "this onnxruntime build has no CUDA provider (install onnxruntime-gpu instead of onnxruntime)"
    if report.ort_session and report.ort_session[0] == CUDA_PROVIDER:
        return None
    if report.ort_session is None:
        return f"the test session could not be created ({report.ort_probe_error})"
    if not report.nvidia_driver:
        return (
            "onnxruntime-gpu lists the CUDA provider, but no NVIDIA driver was found, "
            "so the session fell back to the CPU"
        )
    if report.cuda_visible_devices is not None and report.cuda_visible_devices.strip() in ("", "-1"):
        return "CUDA_VISIBLE_DEVICES hides every GPU, so the session fell back to the CPU"
    return (
        "the CUDA provider failed to start, so the session fell back to the CPU: the CUDA/cuDNN libraries "
        "onnxruntime-gpu was built for are missing or do not match"
        + (" (try onnxruntime.preload_dlls() with the nvidia-* pip packages)" if report.ort_preload_dlls else "")
    )


def _fill_onnxruntime(report: DeviceReport, probe: bool) -> None:
    try:
        import onnxruntime as ort
    except Exception as error:  # noqa: BLE001
        report.ort_error = f"cannot import onnxruntime ({_first_line(error)})"
        return
    report.ort_version = ort.__version__
    report.ort_available = list(ort.get_available_providers())
    report.ort_preload_dlls = callable(getattr(ort, "preload_dlls", None))
    if probe:
        # Only CUDA and CPU: the app never asks for TensorRT, whose start-up builds engines and takes long.
        report.ort_requested = ([CUDA_PROVIDER] if CUDA_PROVIDER in report.ort_available else []) + [CPU_PROVIDER]
        try:
            import numpy as np

            ort.set_default_logger_severity(4)  # a CUDA fallback otherwise prints pages of C++ log
            options = ort.SessionOptions()
            options.log_severity_level = 4
            session = ort.InferenceSession(tiny_onnx_model(), sess_options=options, providers=report.ort_requested)
            out = session.run(None, {"x": np.array([1.5], dtype=np.float32)})[0]
            if float(out[0]) != 1.5:
                raise RuntimeError(f"the identity model returned {out!r}")
            report.ort_session = list(session.get_providers())
        except Exception as error:  # noqa: BLE001 - whatever ORT raises, the report must still come out
            report.ort_probe_error = _first_line(error)
    else:
        report.ort_probe_error = "not probed"
    report.ort_cuda_problem = _ort_cuda_problem(report)


def device_report(probe_onnx: bool = True) -> DeviceReport:
    """Collect the report; never raises for a missing or broken runtime (that is what it reports)."""
    report = DeviceReport(
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
    )
    report.nvidia_driver = nvidia_driver_loadable()
    _fill_torch(report)
    _fill_onnxruntime(report, probe_onnx)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sapiens_core.diagnostics",
        description="Show which runtimes (PyTorch, ONNX Runtime) can use a GPU here, and why not when they cannot.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    parser.add_argument(
        "--no-onnx-probe", action="store_true", help="do not open a test ONNX Runtime session; only list its providers"
    )
    args = parser.parse_args(argv)
    report = device_report(probe_onnx=not args.no_onnx_probe)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.as_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

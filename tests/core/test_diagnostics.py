"""Device diagnostics: what runs where and why not on a GPU; the hand-written ONNX probe model; the CLI."""

import json
import sys

import numpy as np
import pytest

from sapiens_core import diagnostics
from sapiens_core.diagnostics import CPU_PROVIDER, CUDA_PROVIDER, DeviceReport, device_report, tiny_onnx_model


def test_the_probe_model_is_valid_onnx_and_runs():
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")  # dev dependency: an independent check of the hand-written bytes
    onnx.checker.check_model(onnx.load_from_string(tiny_onnx_model()), full_check=True)
    session = ort.InferenceSession(tiny_onnx_model(), providers=[CPU_PROVIDER])
    assert session.run(None, {"x": np.array([2.5], np.float32)})[0].tolist() == [2.5]


def test_report_on_this_machine_says_where_models_run_and_why():
    import torch

    report = device_report()
    text = report.as_text()
    assert report.torch_version == torch.__version__
    assert report.torch_cuda_build == torch.version.cuda
    assert "PyTorch" in text and "ONNX Runtime" in text
    assert report.ort_session is not None and report.ort_session[-1] == CPU_PROVIDER  # the probe session opened
    if torch.cuda.is_available():
        assert report.torch_device == "cuda" and len(report.torch_devices) == torch.cuda.device_count()
        return
    assert report.torch_device == "cpu"
    assert "run on: CPU" in text
    assert report.torch_cuda_problem and f"CUDA is not used: {report.torch_cuda_problem}" in text
    if torch.version.cuda is None:
        assert "CPU-only build" in text and "no CUDA support" in report.torch_cuda_problem
    if CUDA_PROVIDER in report.ort_available and report.ort_session[0] != CUDA_PROVIDER:
        assert report.ort_cuda_problem and "fell back to the CPU" in report.ort_cuda_problem


def test_a_cuda_build_without_a_visible_gpu_names_the_reason(monkeypatch):
    import torch

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    report = device_report(probe_onnx=False)
    assert "built with: CUDA 13.0" in report.as_text()
    assert "sees no GPU" in report.torch_cuda_problem and "CUDA_VISIBLE_DEVICES" in report.torch_cuda_problem
    assert "CUDA_VISIBLE_DEVICES: ''" in report.as_text()
    assert report.summary().startswith("CPU only: ")


@pytest.mark.parametrize(
    "available, session, driver, expected",
    [
        ([CPU_PROVIDER], [CPU_PROVIDER], True, "no CUDA provider"),
        ([CUDA_PROVIDER, CPU_PROVIDER], [CPU_PROVIDER], False, "no NVIDIA driver"),
        ([CUDA_PROVIDER, CPU_PROVIDER], [CPU_PROVIDER], True, "failed to start"),
        ([CUDA_PROVIDER, CPU_PROVIDER], [CUDA_PROVIDER, CPU_PROVIDER], True, None),
    ],
)
def test_onnxruntime_reasons(available, session, driver, expected):
    report = DeviceReport(ort_version="1", ort_available=available, ort_session=session, nvidia_driver=driver)
    problem = diagnostics._ort_cuda_problem(report)
    assert problem is None if expected is None else expected in problem
    assert report.onnx_device == ("cuda" if expected is None else "cpu")


def test_a_missing_runtime_is_reported_not_raised(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    report = device_report()
    assert report.ort_version is None and "cannot import onnxruntime" in report.ort_error
    assert "not available: cannot import onnxruntime" in report.as_text()


def test_cli_help_text_and_json(capsys):
    with pytest.raises(SystemExit) as exit_info:
        diagnostics.main(["--help"])
    assert exit_info.value.code == 0 and "--json" in capsys.readouterr().out
    assert diagnostics.main(["--no-onnx-probe"]) == 0
    assert "device diagnostics" in capsys.readouterr().out
    assert diagnostics.main(["--json", "--no-onnx-probe"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["torch_device"] in ("cpu", "cuda") and data["ort_session"] is None

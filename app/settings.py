"""Preferences through QSettings (the platform's native store): folders, models, device, layers, layout."""

from __future__ import annotations

import json
from dataclasses import asdict

from PySide6.QtCore import QSettings

from .canvas.scene import LayerStyle

ORGANIZATION, APPLICATION = "SapiensStudio", "Sapiens Studio"
TASKS = ("pose", "seg", "depth", "normal", "pointmap", "matting")
PRECISION_CHOICES = ("auto", "bf16")  # the app offers Faithful and bf16; fp32 (refusing bf16 files) is the CLI's


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(ORGANIZATION, APPLICATION)

    # ---- models and device
    def model_path(self, task: str) -> str:
        return str(self.q.value(f"models/{task}", "") or "")

    def set_model_path(self, task: str, path: str | None) -> None:
        self.q.setValue(f"models/{task}", path or "")

    def enabled_tasks(self) -> set[str]:
        raw = self.q.value("models/enabled")
        if raw is None:  # never chosen: every task with a model runs
            return set(TASKS)
        # Stored as a JSON list so that "none enabled" stays distinct from "never chosen".
        try:
            tasks = json.loads(str(raw))
        except ValueError:
            return set(TASKS)
        return {t for t in tasks if t in TASKS} if isinstance(tasks, list) else set(TASKS)

    def set_enabled_tasks(self, tasks: set[str]) -> None:
        self.q.setValue("models/enabled", json.dumps(sorted(tasks)))

    @property
    def quick_pose(self) -> str:
        """``auto`` (default: the quick model gives pose when no pose checkpoint is chosen), ``on`` or ``off``."""
        value = str(self.q.value("models/quick_pose", "auto"))
        return value if value in ("auto", "on", "off") else "auto"

    @quick_pose.setter
    def quick_pose(self, value: str) -> None:
        if value not in ("auto", "on", "off"):
            raise ValueError(f"quick_pose must be auto, on or off, not {value!r}")
        self.q.setValue("models/quick_pose", value)

    @property
    def detect_persons(self) -> bool:
        """Person boxes before pose (default on): the detector chosen as ``models/detector`` or ``auto`` (the
        installed official detector, else the seg model's foreground); off: one whole-image box per image."""
        return str(self.q.value("models/detect_persons", "true")).lower() == "true"

    @detect_persons.setter
    def detect_persons(self, value: bool) -> None:
        self.q.setValue("models/detect_persons", "true" if value else "false")

    @property
    def precision(self) -> str:
        """``auto`` (default, "Faithful": each file in the dtype its official scripts use) or ``bf16`` (fp32 weights
        autocast to bf16: faster on a GPU, results within bf16 tolerance); as ``predict --precision``."""
        value = str(self.q.value("models/precision", "auto"))
        return value if value in PRECISION_CHOICES else "auto"

    @precision.setter
    def precision(self, value: str) -> None:
        if value not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {value!r}")
        self.q.setValue("models/precision", value)

    @property
    def device(self) -> str:
        return str(self.q.value("device", "auto"))

    @device.setter
    def device(self, value: str) -> None:
        self.q.setValue("device", value)

    # ---- licences: the digest of the text a user accepted, per licence (a changed text asks again)
    def licence_accepted(self, key: str, digest: str) -> bool:
        return str(self.q.value(f"licences/{key}", "")) == digest

    def accept_licence(self, key: str, digest: str) -> None:
        self.q.setValue(f"licences/{key}", digest)

    @property
    def last_folder(self) -> str:
        return str(self.q.value("paths/last_folder", ""))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.q.setValue("paths/last_folder", value)

    # ---- layers
    def layer_style(self) -> LayerStyle:
        raw = self.q.value("view/layers", "")
        style = LayerStyle()
        if raw:
            try:
                data = json.loads(str(raw))
                for key, value in data.items():
                    if hasattr(style, key):
                        setattr(style, key, set(value) if isinstance(getattr(style, key), set) else value)
            except (ValueError, TypeError):
                pass  # a damaged preference falls back to the defaults
        return style

    def set_layer_style(self, style: LayerStyle) -> None:
        data = asdict(style)
        for key, value in data.items():
            if isinstance(value, set):
                data[key] = sorted(value)
        self.q.setValue("view/layers", json.dumps(data))

    # ---- window
    def restore_window(self, window) -> None:
        geometry, state = self.q.value("window/geometry"), self.q.value("window/state")
        if geometry is not None:
            window.restoreGeometry(geometry)
        if state is not None:
            window.restoreState(state)

    def save_window(self, window) -> None:
        self.q.setValue("window/geometry", window.saveGeometry())
        self.q.setValue("window/state", window.saveState())

    def sync(self) -> None:
        self.q.sync()

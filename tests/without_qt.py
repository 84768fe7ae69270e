"""Make every Qt binding unimportable in this process, as on a machine where none is installed."""

from __future__ import annotations

import sys

QT_PACKAGES = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2", "pyqtgraph", "qtpy")


class _BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in QT_PACKAGES:
            raise ModuleNotFoundError(f"{name} is blocked: these tests run as on a machine without Qt")


def block_qt() -> None:
    if any(m.split(".")[0] in QT_PACKAGES for m in sys.modules):
        raise RuntimeError("a Qt module was imported before the blocker was installed")
    sys.meta_path.insert(0, _BlockQt())

"""Test-wide set-up: headless Qt, isolated preferences and model folders, no network."""

import os

# Before any Qt import: render offscreen unless a test run asks for a real (Xvfb) display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may reach the network at test time

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_state(tmp_path_factory, monkeypatch):
    """Each test gets its own models folder and its own preferences file."""
    monkeypatch.setenv("SAPIENS_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # the core tests run without Qt too
        yield
        return
    folder = str(tmp_path_factory.mktemp("settings"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):  # NativeFormat is INI on Linux
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    yield

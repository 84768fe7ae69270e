"""The core works on a machine without Qt: every module imports with all Qt bindings blocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_module_imports_with_qt_blocked():
    code = (
        "from tests.without_qt import block_qt\n"
        "block_qt()\n"
        "import importlib, pkgutil, sapiens_core\n"
        "names = [m.name for m in pkgutil.walk_packages(sapiens_core.__path__, 'sapiens_core.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "import sys\n"
        "assert not any(m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph') for m in sys.modules)\n"
        "print(len(names))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 30  # the walk found the package's modules, not an empty list


@pytest.mark.skipif(os.environ.get("SAPIENS_BLOCK_QT") != "1", reason="only in the Qt-blocked run (make test-core)")
def test_the_qt_blocked_run_really_blocks_qt():
    with pytest.raises(ImportError, match="blocked"):
        import PySide6  # noqa: F401

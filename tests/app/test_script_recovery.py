"""``main.py --script``: a child process edits through the studio object, is killed with SIGKILL after autosave ran,
and a second start restores every edit but at most the last one. Each child is a real app (offscreen)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sapiens_core.annotation import SOURCE_HUMAN, Annotation
from sapiens_core.project import annotation_path
from sapiens_core.recovery import RecoveryStore
from tests.app.workflow_fixtures import CLASSES, GOLIATH, make_project

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180  # s: a cold start imports torch and Qt

EDIT_SCRIPT = """
from sapiens_core.recovery import RecoveryStore
studio.open(IMAGE)
studio.move_keypoint(0, "left_wrist", 11.0, 12.0)
studio.set_visibility(0, "nose", 1)
changed = studio.paint_polygon("Apparel", [(50, 40), (70, 40), (70, 55), (50, 55)])
assert changed == 21 * 16, changed
studio.undo()
studio.redo()
while not RecoveryStore().entries():  # autosave runs a few seconds after the last edit
    studio.wait(0.2)
studio.wait(0.5)
studio.move_keypoint(0, "right_wrist", 33.0, 34.0)  # the last edit: it may be lost
print("READY", flush=True)
studio.wait(600)
"""

RESTORE_SCRIPT = """
import json
assert studio.recovery_available()
restored = studio.restore_recovery()
doc = studio.annotation
p = doc.persons[0]
names = ["left_wrist", "nose", "right_wrist"]
idx = {n: SCHEMA.index(n) for n in names}
out = {
    "restored": restored,
    "points": {n: [float(p.keypoints[i, 0]), float(p.keypoints[i, 1]), int(p.visibility[i]), int(p.source[i])]
               for n, i in idx.items()},
    "apparel": int((doc.part_map == APPAREL).sum()),
}
json.dump(out, open(RESULT, "w"))
studio.save()
"""


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        SAPIENS_RECOVERY_DIR=str(tmp_path / "recovery"),
        SAPIENS_MODELS_DIR=str(tmp_path / "models"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # the child's preferences, not the user's
        PYTHONPATH=str(ROOT),
    )
    return env


def _script(path: Path, body: str, **values) -> Path:
    header = "".join(f"{k} = {v!r}\n" for k, v in values.items())
    path.write_text(header + body)
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_session_is_restored_but_for_the_last_edit(tmp_path):
    (image,) = make_project(tmp_path / "imgs", n=1)
    doc_path = annotation_path(image)
    saved_bytes = doc_path.read_bytes()
    original = Annotation.load(doc_path)
    env = _env(tmp_path)
    edit = _script(tmp_path / "edit.py", EDIT_SCRIPT, IMAGE=str(image))
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), str(image.parent), "--script", str(edit)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        line = ""
        while "READY" not in line:
            line = child.stdout.readline()
            assert line or child.poll() is None, f"the editing child ended: {child.stderr.read()}"
            assert time.monotonic() < deadline, "the editing child never got ready"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    assert doc_path.read_bytes() == saved_bytes  # autosave never wrote the document itself
    assert len(RecoveryStore(tmp_path / "recovery").entries()) == 1

    result = tmp_path / "result.json"
    restore = _script(
        tmp_path / "restore.py",
        RESTORE_SCRIPT,
        RESULT=str(result),
        APPAREL=CLASSES.index("Apparel"),
    ).read_text()
    restore = "from sapiens_core.schema import keypoint_schema\nSCHEMA = keypoint_schema('goliath_308')\n" + restore
    (tmp_path / "restore.py").write_text(restore)
    second = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(image.parent), "--script", str(tmp_path / "restore.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert second.returncode == 0, second.stderr
    out = json.loads(result.read_text())
    assert out["restored"] == [str(image)]
    assert out["points"]["left_wrist"] == [11.0, 12.0, 2, SOURCE_HUMAN]
    nose = GOLIATH.index("nose")
    assert out["points"]["nose"] == [float(original.persons[0].keypoints[nose, 0]), 30.0, 1, SOURCE_HUMAN]
    wrist = GOLIATH.index("right_wrist")
    before = [float(original.persons[0].keypoints[wrist, 0]), 30.0, 2, int(original.persons[0].source[wrist])]
    assert out["points"]["right_wrist"] in (before, [33.0, 34.0, 2, SOURCE_HUMAN])  # at most the last edit lost
    assert out["apparel"] == 21 * 16
    # The second session saved: the document now holds the restored edits and the recovery entry is gone.
    saved = Annotation.load(doc_path)
    assert tuple(saved.persons[0].keypoints[GOLIATH.index("left_wrist"), :2]) == (11.0, 12.0)
    assert (saved.part_map[40:56, 50:71] == CLASSES.index("Apparel")).all()
    assert np.count_nonzero(saved.part_map == CLASSES.index("Apparel")) == 21 * 16
    assert RecoveryStore(tmp_path / "recovery").entries() == []


def test_a_failing_script_exits_1_with_its_traceback(tmp_path):
    (image,) = make_project(tmp_path / "imgs", n=1)
    script = _script(
        tmp_path / "bad.py", "studio.open(IMAGE)\nstudio.move_keypoint(0, 'no_such_point', 1, 2)\n", IMAGE=str(image)
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), str(image.parent), "--script", str(script)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "no_such_point" in run.stderr

"""``studio.run()`` from ``main.py --script``: the models named on the command line run on the current image (as
Ctrl+R) and the script continues with their output; a re-run keeps a point the script moved, is one undo step,
and the result is saved and exported. A real app in a child process (offscreen) with tiny official-architecture
models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from sapiens_core.annotation import SOURCE_HUMAN, Annotation
from sapiens_core.project import annotation_path
from sapiens_core.schema import keypoint_schema
from tests.app.test_script_recovery import ROOT, START_TIMEOUT, _env, _script
from tests.app.workflow_fixtures import write_image

GOLIATH = keypoint_schema("goliath_308")

RUN_SCRIPT = """
import json
assert studio.open(IMAGE) is None  # no labels yet
first = studio.run()
wrist = first.persons[0].keypoints[WRIST].tolist()
studio.move_keypoint(0, "left_wrist", 11.0, 12.0)
second = studio.run()  # merges: the moved point is the person's
kept = second.persons[0].keypoints[WRIST, :2].tolist()
studio.undo()  # the second run is one step
after_undo = studio.annotation.persons[0].keypoints[WRIST, :2].tolist()
studio.redo()
studio.save()
summary = studio.export("coco-goliath308", OUT)
json.dump({"wrist": wrist, "kept": kept, "after_undo": after_undo, "classes": first.class_schema,
           "map_shape": list(first.part_map.shape), "exported": [str(p) for p in summary.written]}, open(RESULT, "w"))
"""


def test_a_script_runs_the_models_merges_a_rerun_undoes_it_and_exports(tmp_path, tiny_checkpoints):
    image = write_image(tmp_path / "imgs" / "photo.png", seed=3)
    result, out = tmp_path / "result.json", tmp_path / "export"
    script = _script(
        tmp_path / "run.py",
        RUN_SCRIPT,
        IMAGE=str(image),
        WRIST=GOLIATH.index("left_wrist"),
        RESULT=str(result),
        OUT=str(out),
    )
    command = [sys.executable, str(ROOT / "main.py"), str(image.parent), "--script", str(script), "--device", "cpu"]
    command += ["--pose", tiny_checkpoints["pose"], "--seg", tiny_checkpoints["seg"]]
    run = subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True, timeout=START_TIMEOUT)
    assert run.returncode == 0, run.stderr

    got = json.loads(result.read_text())
    assert got["wrist"][:2] != [11.0, 12.0]  # the model put it elsewhere ...
    assert got["kept"] == [11.0, 12.0]  # ... and its re-run kept the moved point
    assert got["after_undo"] == [11.0, 12.0]  # undoing the re-run: the move is still there (the step before it)
    assert got["classes"] == "sapiens_28" and got["map_shape"] == list(np.asarray(_image_hw(image)))
    assert got["exported"] == [str(out)]  # a COCO export is the one file it was given

    saved = Annotation.load(annotation_path(image))
    person = saved.persons[0]
    wrist = GOLIATH.index("left_wrist")
    assert tuple(person.keypoints[wrist, :2]) == (11.0, 12.0) and person.source[wrist] == SOURCE_HUMAN
    others = np.delete(np.arange(len(GOLIATH)), wrist)
    assert (person.source[others] != SOURCE_HUMAN).all()  # everything else is the models'
    assert saved.part_map is not None and saved.models["pose"]["file"] == Path(tiny_checkpoints["pose"]).name
    coco = json.loads(out.read_text())
    assert len(coco["images"]) == 1 and len(coco["annotations"]) == 1


def _image_hw(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.height, im.width

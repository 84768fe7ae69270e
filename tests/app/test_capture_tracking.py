"""Live capture keeps each person's ID from frame to frame, and "Smooth keypoints" takes the jitter out of their
points. The models are a stand-in that reports two walkers with known positions plus noise (the tracker and the
filter are what is tested, not a model); every frame is processed (not real time), so the run is deterministic."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from sapiens_core.annotation import Annotation, Person
from tests.app.test_capture import write_video

FRAMES = 30
K = 17  # COCO-17 points: the tracker's OKS uses that schema's sigmas


class TwoWalkers:
    """Person A walks right along the top, person B left along the bottom; each frame lists them in a random
    order, with 3 px of noise on every point (what a real model's jitter looks like to the tracker)."""

    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.docs: list[Annotation] = []  # every document handed out (the capture tracks them in place)

    def run(self, frames):
        docs = []
        for f in frames:
            index = int(f.path.rsplit("#", 1)[1])
            people = []
            for pid, (x, y) in enumerate(((20 + 8 * index, 40), (280 - 8 * index, 160))):
                xy = np.stack([np.full(K, x, np.float32), y + np.arange(K, dtype=np.float32) * 3], axis=1)
                xy += self.rng.normal(0, 3, xy.shape).astype(np.float32)
                kp = np.concatenate([xy, np.full((K, 1), 0.9, np.float32)], axis=1)
                box = [x - 15, y - 5, x + 15, y + 3 * K + 5]
                people.append(Person(pid, kp, np.full(K, 2), np.zeros(K), box=box, score=0.9))
            order = self.rng.permutation(2)
            persons = [people[i] for i in order]
            for new_id, person in enumerate(persons):
                person.id = new_id  # document ids follow the listing order, as a model's do
            docs.append(
                Annotation(f.path, (f.image.shape[1], f.image.shape[0]), keypoint_schema="coco_17", persons=persons)
            )
        self.docs += docs
        return docs

    def close(self):
        pass


def _play(qtbot, panel, video) -> list[tuple[int, Annotation]]:
    """(frame index, document) for every frame, as the capture left them (tracked, perhaps smoothed)."""
    model = TwoWalkers()
    panel.realtime = False
    panel.set_pipeline_factory(lambda: model, key=object())
    panel.open_video(str(video))
    panel.start()
    qtbot.waitUntil(lambda: "end of video" in panel.message, timeout=60000)
    assert len(model.docs) == FRAMES  # not real time: every frame went through the models
    return [(int(doc.image_path.rsplit("#", 1)[1]), doc) for doc in model.docs]


def _walker_a(doc: Annotation) -> Person:
    return min(doc.persons, key=lambda p: p.keypoints[0, 1])  # the one along the top


def test_each_walker_keeps_one_id_and_smoothing_steadies_the_points(qtbot, panel, tmp_path):
    video = write_video(tmp_path / "walk.avi", frames=FRAMES, fps=20)
    raw = _play(qtbot, panel, video)
    a_ids = {_walker_a(doc).track_id for _, doc in raw}
    b_ids = {max(doc.persons, key=lambda p: p.keypoints[0, 1]).track_id for _, doc in raw}
    assert len(a_ids) == 1 and len(b_ids) == 1 and a_ids != b_ids and None not in a_ids | b_ids

    qtbot.mouseClick(panel.smooth_check, Qt.MouseButton.LeftButton)
    assert panel.smooth_check.isChecked()
    smooth = _play(qtbot, panel, video)

    def errors(results) -> np.ndarray:
        """Walker A's point 0 against its true path, over the second half (the filter has settled)."""
        return np.array([_walker_a(doc).keypoints[0, 0] - (20 + 8 * index) for index, doc in results[FRAMES // 2 :]])

    assert errors(smooth).std() < 0.8 * errors(raw).std()  # steadier ...
    assert abs(errors(smooth).mean()) < 10  # ... without trailing far behind a person walking 160 px/s
    assert len({_walker_a(doc).track_id for _, doc in smooth}) == 1

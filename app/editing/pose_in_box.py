"""Run pose inside a box the user just drew: the predicted points become that person's points, one step.

The result comes back from a background job; by then the user may have switched images, so it goes into the
history of the image it belongs to (not "the current one"), and only onto points nobody placed by hand since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject

from sapiens_core.annotation import SOURCE_HUMAN
from sapiens_core.annotation.edits import SetKeypoints

from ..inference import InferenceController
from .document_model import DocumentModel


class PoseInBox(QObject):
    def __init__(
        self,
        documents: DocumentModel,
        inference: InferenceController,
        pose_model: Callable[[], str | None],
        device: Callable[[], str],
        parent=None,
    ):
        super().__init__(parent)
        self.documents, self.inference = documents, inference
        self.pose_model, self.device = pose_model, device
        self.enabled = True
        self._pending: dict[str, list[int]] = defaultdict(list)  # image path -> person ids, in request order
        inference.boxes_done.connect(self._done)

    def run(self, image_path: str, person_id: int, box) -> object | None:
        model = self.pose_model()
        if not self.enabled or not model or image_path is None:
            return None
        self._pending[image_path].append(person_id)
        boxes = np.array([[*map(float, box), 1.0]], np.float32)
        return self.inference.predict([image_path], {"pose": model}, self.device(), "Pose in box", boxes=boxes)

    def _done(self, image_path: str, doc) -> None:
        pending = self._pending.get(image_path)
        if not pending:
            return
        pid = pending.pop(0)
        entry = self.documents.entry(image_path)
        person = next((p for p in entry.doc.persons if p.id == pid), None) if entry is not None else None
        if person is None or not doc.persons or doc.persons[0].num_keypoints != person.num_keypoints:
            return  # the person was deleted (or undone) meanwhile, or the model has another keypoint set
        found = doc.persons[0]
        indices = np.flatnonzero(person.source != SOURCE_HUMAN)
        edit = SetKeypoints(
            pid,
            indices,
            found.keypoints[indices],
            found.visibility[indices],
            found.source[indices],
            "run pose in box",
        )
        entry.history.seal()
        entry.history.push(edit)
        entry.history.seal()

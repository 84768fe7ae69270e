"""``predict`` on video files: frame by frame, one document per processed frame, optional tracking and smoothing.

Per video with output stem STEM (``clip`` for ``clip.mp4``; made unique like image stems), in ``--out``:

* ``STEM_f000123.jpg`` — the processed frame (so the document opens in the app, and COCO has an image to name), and
  ``STEM_f000123.json`` with its side files, as an image's document; it records the video and frame index, and with
  ``--track`` each person's ``track_id``. An existing document is merged into as for images (``--overwrite``
  replaces it).
* ``STEM_coco.json`` — COCO keypoints of all processed frames, PoseTrack-style: ``vid_id`` and ``frame_id`` per
  image, ``track_id`` per annotation (``--track``). One file per video, as PoseTrack keeps them.
* ``STEM_tracks.json`` (``--track``) — per track its frames, times, boxes and scores (``sapiens_core.track``).
* ``STEM_overlay.mp4`` (``--render-video``) — the frames with keypoints drawn and each track's box and ID in its
  own colour, at the video's frame rate divided by ``--every``.

Memory stays flat however long the video: one batch of frames is in memory at a time, documents go to disk as
they are made, and the COCO file is written afterwards from the saved documents (persons only, no layers).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ..annotation import Annotation, VideoRef
from ..annotation.relabel import relabel
from ..boxes import BoxTable
from ..errors import SapiensError
from ..export import ExportItem, ExportOptions, get_format
from ..export.coco import own_schema_layout, write_coco
from ..export.masks import write_part_map_color
from ..io.atomic import atomic_path
from ..pipeline import Frame, Pipeline
from ..render.overlay import render_overlay
from ..render.tracks import draw_track_ids
from ..schema import class_schema, keypoint_schema
from ..track import DocumentTracker, KeypointSmoother, TrackerConfig, TrackLog
from ..video import VideoError, VideoFrame, VideoReader, is_video_path

__all__ = ["add_arguments", "check_arguments", "split_inputs", "predict_video"]

FRAME_JPEG_QUALITY = 95  # the frame is already lossy video; 95 adds no visible loss at a tenth of a PNG's size


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("video inputs (.mp4, .avi, .mkv, .mov, .webm, .m4v)")
    g.add_argument("--every", type=int, default=1, metavar="N", help="process every N-th frame (default: all)")
    g.add_argument("--track", action="store_true", help="give persons IDs that stay the same across frames")
    g.add_argument(
        "--max-gap",
        type=int,
        default=TrackerConfig.max_gap,
        metavar="FRAMES",
        help=f"processed frames a hidden person keeps its track ID (default {TrackerConfig.max_gap})",
    )
    g.add_argument(
        "--smooth",
        action="store_true",
        help="One-Euro filter on each tracked person's keypoints (less jitter; needs --track)",
    )
    g.add_argument("--render-video", action="store_true", help="write STEM_overlay.mp4 with the results drawn")


def check_arguments(args: argparse.Namespace) -> None:
    if args.every < 1:
        raise SapiensError("--every must be at least 1")
    if args.max_gap < 0:
        raise SapiensError("--max-gap must be 0 or more")
    if args.smooth and not args.track:
        raise SapiensError("--smooth filters each track's keypoints over time; add --track")


def split_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """(video files, everything else): videos are named explicitly; folders are searched for images only."""
    videos = [Path(p) for p in inputs if is_video_path(p) and Path(p).is_file()]
    return videos, [p for p in inputs if not (is_video_path(p) and Path(p).is_file())]


def predict_video(args: argparse.Namespace, pipeline: Pipeline, video: Path, stem: str, boxes: BoxTable | None) -> bool:
    """Process one video into ``args.out``; False (after one stderr line) when it failed or ended early."""
    try:
        reader = VideoReader(str(video), every=args.every)
    except VideoError as exc:
        print(f"failed: {video}: {exc}", file=sys.stderr)
        return False
    with reader:
        run = _VideoRun(args, pipeline, video, stem, reader, boxes)
        try:
            run.process()
        except BaseException:
            run.close(keep_video=False)
            raise
        run.close(keep_video=True)
    if reader.end_message != "end of video":
        print(f"failed: {video}: {reader.end_message}; the frames before it were written", file=sys.stderr)
        return False
    return run.failed_frames == 0


class _VideoRun:
    def __init__(self, args, pipeline: Pipeline, video: Path, stem: str, reader: VideoReader, boxes):
        self.args, self.pipeline, self.reader, self.boxes = args, pipeline, reader, boxes
        self.video, self.stem = video, stem
        self.tracker = DocumentTracker(TrackerConfig(max_gap=args.max_gap)) if args.track else None
        self.smoother = KeypointSmoother() if args.smooth else None
        self.log = TrackLog(video.name, reader.fps, args.every, reader.frame_count) if args.track else None
        self.saved: list[Path] = []  # document paths, in frame order (for the COCO file)
        self.failed_frames = 0
        self.writer: cv2.VideoWriter | None = None
        self._video_tmp: Path | None = None  # the overlay video while it is written (renamed when complete)

    def process(self) -> None:
        bar = tqdm(total=self.reader.expected_frames() or None, unit="frame", file=sys.stderr, disable=None)
        bar.set_description(self.video.name)
        batch: list[VideoFrame] = []
        for frame in self.reader:
            batch.append(frame)
            if len(batch) == self.args.batch_size:
                self._run_batch(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            self._run_batch(batch)
            bar.update(len(batch))
        bar.close()
        if self.log is not None:
            self.log.write(self.args.out / f"{self.stem}_tracks.json")
        self._write_coco()

    def _frame_stem(self, frame: VideoFrame) -> str:
        return f"{self.stem}_f{frame.index:06d}"

    def _run_batch(self, frames: list[VideoFrame]) -> None:
        inputs = []
        for frame in frames:
            frame_stem = self._frame_stem(frame)
            image_path = self.args.out / f"{frame_stem}.jpg"
            found = None
            if self.boxes is not None:  # per frame (its output stem), else one set for the whole video
                found = self.boxes.lookup(frame_stem)
                found = found if found is not None else self.boxes.lookup(self.video)
            inputs.append(Frame(frame.rgb, str(image_path), found))
        # A model error here (BackendError) would fail every frame alike: it ends the run (exit 2), as for images.
        docs = self.pipeline.run(inputs)
        for frame, doc in zip(frames, docs):
            try:
                doc = self._finish_frame(frame, doc)
            except (SapiensError, OSError) as exc:  # this frame's files (a malformed document there, a full disk)
                self.failed_frames += 1
                text = " ".join(str(exc).split()) or type(exc).__name__
                print(f"failed: {self.video} frame {frame.index}: {text}", file=sys.stderr)
            if self.args.render_video:  # outside: a video that cannot be encoded ends the run (exit 2)
                self._render(frame, doc)

    def _finish_frame(self, frame: VideoFrame, doc: Annotation) -> Annotation:
        """Track, smooth and save ``doc``; returns what was saved (merged into an existing document)."""
        out, frame_stem = self.args.out, self._frame_stem(frame)
        doc.video = VideoRef(self.video.name, frame.index)
        if self.tracker is not None:
            self.tracker.update_document(doc)
        if self.smoother is not None:
            self.smoother.smooth(frame.time_s, doc.persons)
        with atomic_path(out / f"{frame_stem}.jpg") as tmp:
            if not cv2.imwrite(str(tmp), frame.rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, FRAME_JPEG_QUALITY]):
                raise OSError(f"could not write {out / f'{frame_stem}.jpg'}")
        doc = relabel(out / f"{frame_stem}.json", doc, self.args.overwrite)
        doc.save(out / f"{frame_stem}.json")
        self.saved.append(out / f"{frame_stem}.json")
        if doc.part_map is not None and doc.class_schema:
            write_part_map_color(out / f"{frame_stem}_seg_color.png", doc.part_map, class_schema(doc.class_schema))
        if self.log is not None:
            self.log.add(frame.index, frame.time_s, doc.persons)
        return doc

    def _render(self, frame: VideoFrame, doc: Annotation) -> None:
        kp = keypoint_schema(doc.keypoint_schema) if doc.keypoint_schema else None
        cs = class_schema(doc.class_schema) if doc.class_schema else None
        rgb = render_overlay(frame.rgb, doc, keypoint_schema=kp, class_schema=cs, kpt_threshold=self.args.kpt_threshold)
        draw_track_ids(rgb, doc)
        if self.writer is None:
            # A hidden name while it grows, so a crash never leaves a half video under the final name.
            self._video_tmp = self.args.out / f".{self.stem}_overlay.partial.mp4"
            h, w = rgb.shape[:2]
            fps = self.reader.fps / self.args.every
            self.writer = cv2.VideoWriter(str(self._video_tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            if not self.writer.isOpened():
                self.writer = None
                raise SapiensError(f"cannot write {self.stem}_overlay.mp4: OpenCV has no MPEG-4 encoder here")
        self.writer.write(np.ascontiguousarray(rgb[..., ::-1]))

    def close(self, keep_video: bool) -> None:
        """Finish the overlay video: moved into place when the run completed, else removed."""
        if self.writer is not None:
            self.writer.release()
            self.writer = None
        if self._video_tmp is not None:
            if keep_video:
                os.replace(self._video_tmp, self.args.out / f"{self.stem}_overlay.mp4")
            else:
                self._video_tmp.unlink(missing_ok=True)
            self._video_tmp = None

    def _coco_items(self) -> Iterator[ExportItem]:
        for path in self.saved:
            yield ExportItem(Annotation.load(path, layers=False), path.stem, path)

    def _write_coco(self) -> None:
        if not self.saved:
            return
        first = Annotation.load(self.saved[0], layers=False)
        if not first.keypoint_schema:
            return  # no pose model ran: nothing for COCO keypoints
        out = self.args.out / f"{self.stem}_coco.json"
        options = ExportOptions(score_threshold=self.args.kpt_threshold, images_root=self.args.out)
        schema = keypoint_schema(first.keypoint_schema)
        if schema.name == "goliath_308":
            report = get_format("coco-goliath308").write(out, self._coco_items(), options)
        else:
            report = write_coco(out, self._coco_items(), options, own_schema_layout(schema))
        for problem in report.problems:
            print(f"{out.name}: left out {problem}", file=sys.stderr)

"""``predict``: run the chosen models on images and folders, write documents, masks, overlays and COCO.

Per input image STEM (made unique when two inputs share one): ``STEM.json`` (the annotation document) with its
side files ``STEM_seg.png`` (uint8 class ids), ``STEM_fg.png``, ``STEM_depth.npy``, ``STEM_normal.npy`` (the
names ``Annotation.save`` gives them), plus ``STEM_seg_color.png`` and ``STEM_overlay.png``; one ``coco.json``
when a pose model (or ``--quick``) ran. An unreadable image or a failed write is that input's failure (exit 1);
a model that cannot run (wrong task, runtime failure) ends the run with one line (exit 2). Video files go through
``predict_video`` (a document per processed frame, ``--track``, ``--every``, ``--render-video``, ``--smooth``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from tqdm import tqdm

from ..annotation import Annotation
from ..annotation.relabel import relabel
from ..boxes import BoxTable
from ..errors import SapiensError
from ..export import ExportItem, ExportOptions, get_format
from ..export.coco import common_image_root, own_schema_layout, write_coco
from ..export.masks import write_part_map_color
from ..io.atomic import atomic_path
from ..io.images import find_images, read_image
from ..pipeline import QUICK_MODEL_ID, Frame, Pipeline
from ..render.overlay import render_overlay
from ..schema import class_schema, keypoint_schema
from . import detector_args, predict_video


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="run models on images and write the results",
        description="Run the given checkpoints on images (files or folders, recursed) and write per image "
        "STEM.json, STEM_seg.png, STEM_depth.npy, STEM_normal.npy, STEM_overlay.png, "
        "and coco.json for all images.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders, or video files")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    pose = p.add_mutually_exclusive_group()
    for task in ("pose", "seg", "depth", "normal"):
        (pose if task == "pose" else p).add_argument(
            f"--{task}",
            type=Path,
            metavar="CKPT",
            help=f"{task} checkpoint: TorchScript .pt2, bfloat16 .pt2, original .pth, .safetensors or .onnx",
        )
    p.add_argument(
        "--pointmap",
        type=Path,
        metavar="CKPT",
        help="Sapiens2 pointmap .safetensors: metric XYZ per pixel (STEM_pointmap.npy, meters); its Z becomes the "
        "depth, and the document records the focal length it implies",
    )
    pose.add_argument(
        "--quick",
        action="store_true",
        help="pose from the quick CPU backend (MediaPipe Holistic mapped onto Goliath-308, plus a "
        "person mask) instead of a pose checkpoint; needs mediapipe",
    )
    p.add_argument("--boxes", type=Path, metavar="FILE", help="person boxes per image (JSON); default: whole image")
    detector_args.add_arguments(p)
    predict_video.add_arguments(p)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--batch-size", type=int, default=1, metavar="N", help="images (and person crops) per forward pass")
    p.add_argument(
        "--flip-test", action="store_true", help="average with the mirrored input (official eval setting; 2x slower)"
    )
    p.add_argument(
        "--kpt-threshold", type=float, default=0.3, help="score at and above which a keypoint counts as visible"
    )
    p.add_argument("--no-overlay", action="store_true", help="skip the STEM_overlay.png renders")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing documents in --out; by default new output is merged into them, keeping every "
        "point a person placed or corrected (and reviewed documents)",
    )
    p.set_defaults(run=run)


def _unique_stems(paths: list[Path]) -> dict[Path, str]:
    """Output stem per input; inputs from different folders with the same stem get a numeric suffix."""
    seen: dict[str, int] = {}
    stems = {}
    for path in paths:
        n = seen.get(path.stem, 0)
        seen[path.stem] = n + 1
        stems[path] = path.stem if n == 0 else f"{path.stem}_{n + 1}"
    return stems


def _failure(path: Path, exc: BaseException) -> str:
    """One stderr line naming the file once (image errors already start with the path)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"failed: {text}" if text.startswith(str(path)) else f"failed: {path}: {text}"


def _write_outputs(
    doc: Annotation, image, out_dir: Path, stem: str, overlay: bool, kpt_threshold: float, overwrite: bool
) -> Annotation:
    """Save ``doc`` (merged into an existing document unless ``overwrite``) and its renders; returns what was saved."""
    doc = relabel(out_dir / f"{stem}.json", doc, overwrite)
    doc.save(out_dir / f"{stem}.json")  # and its side files STEM_seg.png, STEM_fg.png, STEM_depth.npy, STEM_normal.npy
    if doc.part_map is not None and doc.class_schema:
        write_part_map_color(out_dir / f"{stem}_seg_color.png", doc.part_map, class_schema(doc.class_schema))
    if overlay:
        import cv2  # only needed for this write

        kp = keypoint_schema(doc.keypoint_schema) if doc.keypoint_schema else None
        cs = class_schema(doc.class_schema) if doc.class_schema else None
        rgb = render_overlay(image, doc, keypoint_schema=kp, class_schema=cs, kpt_threshold=kpt_threshold)
        with atomic_path(out_dir / f"{stem}_overlay.png") as tmp:
            if not cv2.imwrite(str(tmp), rgb[..., ::-1]):
                raise OSError(f"could not write {out_dir / f'{stem}_overlay.png'}")
    return doc


def run(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise SapiensError("--batch-size must be at least 1")
    models = {t: getattr(args, t) for t in ("pose", "seg", "depth", "normal", "pointmap")}
    if args.quick:
        models["pose"] = QUICK_MODEL_ID
    if not any(models.values()):
        raise SapiensError("give at least one model: --pose, --quick, --seg, --depth, --normal or --pointmap")
    if args.out.exists() and not args.out.is_dir():
        raise SapiensError(f"--out {args.out} is a file, not a folder")
    predict_video.check_arguments(args)
    videos, inputs = predict_video.split_inputs(args.inputs)
    missing = [str(p) for p in inputs if not Path(p).exists()]
    images = find_images([Path(p) for p in inputs if Path(p).exists()])
    if not images and not videos and not missing:  # before loading models: that takes seconds to minutes
        raise SapiensError(f"no images found in {', '.join(map(str, args.inputs))}")
    boxes = BoxTable.load(args.boxes) if args.boxes else None
    pipeline = Pipeline.from_paths(
        models,
        device=args.device,
        detector=detector_args.detector_from_args(args, models),
        batch_size=args.batch_size,
        flip_test=args.flip_test,
        kpt_threshold=args.kpt_threshold,
    )
    failed = len(missing)
    for p in missing:
        print(f"failed: {p}: no such file or folder", file=sys.stderr)
    stems = _unique_stems(images + videos)
    written: list[Annotation] = []
    try:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SapiensError(f"cannot create the output folder {args.out} ({exc.strerror or exc})") from None
        bar = tqdm(total=len(images), unit="img", file=sys.stderr, disable=None, desc="predict")
        for start in range(0, len(images), args.batch_size):
            frames, ok = [], []
            for path in images[start : start + args.batch_size]:
                try:
                    frames.append(Frame(read_image(path), str(path), boxes.lookup(path) if boxes else None))
                    ok.append(path)
                except SapiensError as exc:
                    failed += 1
                    print(_failure(path, exc), file=sys.stderr)
            # A model error here (BackendError: wrong task, runtime failure) would fail every input alike, so it
            # ends the run: main() prints its one line and exits 2.
            docs = pipeline.run(frames)
            for path, frame, doc in zip(ok, frames, docs):
                try:
                    doc = _write_outputs(
                        doc,
                        frame.image,
                        args.out,
                        stems[path],
                        not args.no_overlay,
                        args.kpt_threshold,
                        args.overwrite,
                    )
                except (SapiensError, OSError) as exc:
                    failed += 1
                    print(_failure(path, exc), file=sys.stderr)
                    continue
                # Keep only what coco.json needs: the dense layers are on disk already (memory stays bounded).
                written.append(
                    dataclasses.replace(doc, part_map=None, foreground=None, depth=None, normal=None, pointmap=None)
                )
            bar.update(len(images[start : start + args.batch_size]))
        bar.close()
        schemas = {d.keypoint_schema for d in written if d.keypoint_schema}
        if schemas:
            # Every image goes in, persons or not: an image without persons is a negative for a trainer.
            # Goliath documents get the trainer's layout (masks, side files); other models their own key set.
            schema = keypoint_schema(schemas.pop())
            items = (ExportItem(d, Path(d.image_path).stem) for d in written)
            options = ExportOptions(score_threshold=args.kpt_threshold, images_root=common_image_root(written))
            if schema.name == "goliath_308":
                report = get_format("coco-goliath308").write(args.out / "coco.json", items, options)
            else:
                report = write_coco(args.out / "coco.json", items, options, own_schema_layout(schema))
            for problem in report.problems:
                print(f"coco.json: left out {problem}", file=sys.stderr)
        for video in videos:
            failed += not predict_video.predict_video(args, pipeline, video, stems[video], boxes)
    finally:
        pipeline.close()
    return 1 if failed else 0

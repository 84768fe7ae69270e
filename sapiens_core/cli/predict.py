"""``predict``: run the chosen models on images and folders, write documents, masks, overlays and COCO.

Per input image STEM (made unique when two inputs share one): ``STEM.json`` (the annotation document) with its
side files ``STEM_seg.png`` (uint8 class ids), ``STEM_fg.png``, ``STEM_depth.npy``, ``STEM_normal.npy``,
``STEM_pointmap.npy``, ``STEM_alpha.png`` and ``STEM_fg_rgb.png`` (a matte) (the names ``Annotation.save`` gives
them), plus ``STEM_seg_color.png`` and ``STEM_overlay.png``; one ``coco.json`` when a pose model (or ``--quick``)
ran. An unreadable image or a failed write is that input's failure (exit 1); a model that cannot run (wrong task,
runtime failure) ends the run with one line (exit 2). Video files go through ``predict_video`` (a document per
processed frame, ``--track``, ``--every``, ``--render-video``, ``--smooth``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..boxes import BoxTable
from ..errors import SapiensError
from ..pipeline import QUICK_MODEL_ID, Pipeline
from . import detector_args, predict_images, predict_video
from .batch_size import batch_size_arg


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
    p.add_argument(
        "--matting",
        type=Path,
        metavar="CKPT",
        help="Sapiens2 matting .safetensors: the alpha matte (STEM_alpha.png, 8-bit) and the premultiplied "
        "foreground colour (STEM_fg_rgb.png, 8-bit RGB) at the image size",
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
    predict_images.add_arguments(p)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--batch-size",
        type=batch_size_arg,
        default=1,
        metavar="N",
        help="images (and person crops) per forward pass; auto: as many as the free GPU memory holds (the CPU "
        "default on a CPU), said in one line",
    )
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


def run(args: argparse.Namespace) -> int:
    predict_images.check_arguments(args)
    models = {t: getattr(args, t) for t in ("pose", "seg", "depth", "normal", "pointmap", "matting")}
    if args.quick:
        models["pose"] = QUICK_MODEL_ID
    if not any(models.values()):
        raise SapiensError(
            "give at least one model: --pose, --quick, --seg, --depth, --normal, --pointmap or --matting"
        )
    if args.out.exists() and not args.out.is_dir():
        raise SapiensError(f"--out {args.out} is a file, not a folder")
    predict_video.check_arguments(args)
    videos, inputs = predict_video.split_inputs(args.inputs)

    def on_video(pipeline: Pipeline, video: Path, stem: str, boxes: BoxTable | None) -> bool:
        return predict_video.predict_video(args, pipeline, video, stem, boxes)

    # Images (and videos) go through the dataset runner: one process, or one per rank under torchrun.
    return predict_images.run_images(args, models, inputs, videos, on_video)

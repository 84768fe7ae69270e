"""Held-out metrics per task: OKS AP (pycocotools, the schema's sigmas), mIoU, depth abs-rel/RMSE, normal angle.

Run before the first step and after each epoch, so a user sees whether finetuning helped. Pose is scored in image
pixels on the labeled persons' boxes (top-down, ground-truth boxes as in the official Goliath evaluation).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from sapiens_core.tasks import keypoints_to_image
from sapiens_core.tasks.heatmap import decode_heatmaps


def oks_ap(gts: list[dict], dets: list[dict], sigmas: np.ndarray) -> dict[str, float]:
    """COCO keypoint AP / AP50 / AR of ``dets`` against ``gts`` (COCO annotation dicts of one category)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images = sorted({g["image_id"] for g in gts})
    k = len(sigmas)
    data = {
        "images": [{"id": i} for i in images],
        "annotations": [dict(g, id=n + 1, iscrowd=0, category_id=1) for n, g in enumerate(gts)],
        "categories": [{"id": 1, "name": "person", "keypoints": [str(i) for i in range(k)], "skeleton": []}],
    }
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        truth = COCO()
        truth.dataset = data
        truth.createIndex()
        found = truth.loadRes([dict(d, category_id=1) for d in dets]) if dets else None
        if found is None:
            return {"AP": 0.0, "AP50": 0.0, "AR": 0.0}
        evaluator = COCOeval(truth, found, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats
    return {"AP": float(max(stats[0], 0)), "AP50": float(max(stats[1], 0)), "AR": float(max(stats[5], 0))}


def _forward(model, images: torch.Tensor, device: torch.device, autocast: bool) -> torch.Tensor:
    context = torch.autocast("cuda", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with context:
        return model(images.to(device, non_blocking=True)).float()


@torch.no_grad()
def evaluate(
    model,
    dataset,
    task: str,
    device: torch.device,
    batch_size: int = 4,
    autocast: bool = False,
    sigmas: np.ndarray | None = None,
    num_classes: int = 28,
) -> dict[str, float]:
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    gts, dets = [], []
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    errors: dict[str, list] = {"abs_rel": [], "sq": [], "angle": []}
    try:
        for batch in loader:
            out = _forward(model, batch["image"], device, autocast).cpu()
            if task == "pose":
                _pose_records(out, batch, dataset, gts, dets)
            elif task == "seg":
                labels = batch["label"]
                pred = F.interpolate(out, size=labels.shape[-2:], mode="bilinear", align_corners=False).argmax(1)
                keep = labels < num_classes
                confusion += torch.bincount(labels[keep] * num_classes + pred[keep], minlength=num_classes**2).reshape(
                    num_classes, num_classes
                )
            elif task == "depth":
                _depth_errors(out, batch["depth"], errors)
            else:
                _normal_errors(out, batch["normal"], errors)
    finally:
        model.train(was_training)
    if task == "pose":
        return oks_ap(gts, dets, sigmas)
    if task == "seg":
        inter = confusion.diag().double()
        union = confusion.sum(0).double() + confusion.sum(1).double() - inter
        present = union > 0
        return {"mIoU": float((inter[present] / union[present]).mean()) if present.any() else 0.0}
    if task == "depth":
        n = max(len(errors["sq"]), 1)
        return {"abs_rel": float(np.mean(errors["abs_rel"] or [0])), "rmse": float(np.sqrt(sum(errors["sq"]) / n))}
    return {"mean_angle_deg": float(np.mean(errors["angle"] or [0]))}


def _pose_records(out: torch.Tensor, batch: dict, dataset, gts: list, dets: list) -> None:
    n, k, h, w = out.shape
    coords, scores = decode_heatmaps(out.numpy())
    image_xy = keypoints_to_image(coords, batch["center"].numpy(), batch["scale"].numpy(), (w, h), dataset.input_size)
    for i in range(n):
        sample = dataset.source.samples[int(batch["index"][i])]
        labeled = sample.labeled
        kp_gt = np.zeros((k, 3))
        kp_gt[labeled, :2] = sample.keypoints[labeled]
        kp_gt[labeled, 2] = 2
        x1, y1, x2, y2 = (float(v) for v in sample.box)
        ident = int(batch["index"][i])  # one COCO "image" per person: boxes are given, no matching across persons
        gts.append(
            {
                "image_id": ident,
                "keypoints": kp_gt.ravel().tolist(),
                "num_keypoints": int(labeled.sum()),
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": max((x2 - x1) * (y2 - y1), 1.0),
            }
        )
        kp_dt = np.concatenate([image_xy[i], scores[i][:, None]], axis=1)
        dets.append({"image_id": ident, "keypoints": kp_dt.ravel().tolist(), "score": float(scores[i].mean())})


def _depth_errors(out: torch.Tensor, target: torch.Tensor, errors: dict) -> None:
    """On the SiLog loss's valid pixels of the [0, 1] foreground-normalised target, after aligning each
    prediction by least-squares scale and shift (Sapiens depth is relative)."""
    pred = F.interpolate(out, size=target.shape[-2:], mode="bilinear", align_corners=False)
    for p, t in zip(pred[:, 0], target[:, 0]):
        valid = t > 1e-6
        if valid.sum() < 2:
            continue
        x, y = p[valid].double(), t[valid].double()
        a = torch.stack([x, torch.ones_like(x)], 1)
        solution = torch.linalg.lstsq(a, y[:, None]).solution[:, 0]
        aligned = a @ solution
        errors["abs_rel"].append(float(((aligned - y).abs() / y).mean()))
        errors["sq"].append(float(((aligned - y) ** 2).mean()))


def _normal_errors(out: torch.Tensor, target: torch.Tensor, errors: dict) -> None:
    pred = F.interpolate(out, size=target.shape[-2:], mode="bilinear", align_corners=False)
    cos = F.cosine_similarity(pred, target, dim=1, eps=1e-6).clamp(-1, 1)
    for c, valid in zip(cos, target[:, 0] > -100):  # one mean per image: a full-size image has 786k pixels
        if valid.any():
            errors["angle"].append(float(torch.rad2deg(torch.acos(c[valid])).mean()))

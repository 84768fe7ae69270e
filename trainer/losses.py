"""The losses of the official recipes (spec §6.2-6.5), one function per task, all taking raw model outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = 255  # seg label of pixels no class is learnt from (spec §6.3)


def keypoint_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, ohkm_topk: int = 0) -> torch.Tensor:
    """mmpose KeypointMSELoss with target weights: mean over (pred - gt)^2 * w. With ``ohkm_topk`` (KeypointOHKMMSELoss)
    the per-keypoint losses of each sample are averaged over its ``topk`` largest only."""
    per_point = ((pred.float() - target) ** 2).mean(dim=(-2, -1)) * weights  # (B, K)
    if ohkm_topk:
        k = min(ohkm_topk, per_point.shape[1])
        return per_point.topk(k, dim=1).values.mean()
    return per_point.mean()


def weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """Per-pixel class_weight[y] * CE, 0 at ignored pixels, then a plain mean over all label pixels (mmseg with
    ``reduction='none'``; not torch's weighted mean). Logits are upsampled to the label size first."""
    logits = F.interpolate(logits.float(), size=labels.shape[-2:], mode="bilinear", align_corners=False)
    loss = F.cross_entropy(logits, labels, weight=class_weights, ignore_index=IGNORE_INDEX, reduction="none")
    return loss.mean()


def silog(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Scale-invariant log loss per image over valid pixels (target > eps): sqrt(mean d^2 - 0.5 mean(d)^2)."""
    pred = F.interpolate(pred.float(), size=target.shape[-2:], mode="bilinear", align_corners=False)
    losses = []
    for p, t in zip(pred, target):
        valid = t > eps
        if not valid.any():
            losses.append(p.sum() * 0)  # keeps the graph (DDP needs every parameter to get a gradient)
            continue
        d = torch.log(t[valid].clamp_min(eps)) - torch.log(p[valid].clamp_min(eps))
        losses.append(torch.sqrt((d**2).mean() - 0.5 * d.mean() ** 2 + 1e-12))
    return torch.stack(losses).mean()


def normal_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(1 - cos) on normalised vectors + L1 of the raw prediction summed over xyz, each averaged over valid pixels
    (valid: target x > -100)."""
    pred = F.interpolate(pred.float(), size=target.shape[-2:], mode="bilinear", align_corners=False)
    valid = target[:, 0] > -100  # (B, H, W)
    count = valid.sum().clamp_min(1)
    cosine = F.cosine_similarity(pred, target, dim=1, eps=1e-6)
    cos_loss = ((1 - cosine) * valid).sum() / count
    l1 = ((pred - target).abs().sum(dim=1) * valid).sum() / count
    return torch.nan_to_num(cos_loss + l1, nan=0.0, posinf=0.0)


def task_loss(task: str, output: torch.Tensor, batch: dict, class_weights=None, ohkm_topk: int = 0) -> torch.Tensor:
    if task == "pose":
        return keypoint_mse(output, batch["heatmaps"], batch["weights"], ohkm_topk)
    if task == "seg":
        return weighted_cross_entropy(output, batch["label"], class_weights)
    if task == "depth":
        return silog(output, batch["depth"])
    return normal_loss(output, batch["normal"])

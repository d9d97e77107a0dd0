"""Where does the model look? Grad-CAM (the grad-cam library) for the CNN and ResNet-18, and
attention rollout (Abnar & Zuidema 2020) for the ViT, on one test image per class."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def example_positions(labels: torch.Tensor, k: int) -> list[int]:
    """Position of the first test image of each class."""
    labels = labels.cpu()
    return [int((labels == c).nonzero()[0]) for c in range(k) if (labels == c).any()]


def gradcam(model, x: torch.Tensor, targets: list[int]) -> np.ndarray:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with GradCAM(model=model, target_layers=[model.backbone.cam_layer()]) as cam:
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in targets])


@torch.no_grad()
def attention_rollout(model, x: torch.Tensor) -> np.ndarray:
    vit = model.backbone
    attns = [blk.attn for blk in vit.blocks]
    for a in attns:
        a.record_attention = True
    try:
        model(x)
        rollout = None
        for a in attns:
            att = a.last_attn.mean(dim=1)                      # average the heads
            att = att + torch.eye(att.shape[-1], device=att.device)  # the residual path
            att = att / att.sum(dim=-1, keepdim=True)
            rollout = att if rollout is None else att @ rollout
    finally:
        for a in attns:
            a.record_attention, a.last_attn = False, None
    cls_to_patch = rollout[:, 0, 1:].reshape(-1, 1, vit.grid, vit.grid)
    maps = F.interpolate(cls_to_patch, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    lo, hi = maps.amin(dim=(1, 2), keepdim=True), maps.amax(dim=(1, 2), keepdim=True)
    return ((maps - lo) / (hi - lo + 1e-12)).cpu().numpy()


def explain_examples(model, backbone: str, test_loader) -> dict:
    """Saliency maps on one test image per class, quantised to 0..255 to keep result files small."""
    labels = test_loader.labels
    pos = example_positions(labels, int(labels.max()) + 1)
    x = test_loader.normalise(test_loader.images[pos]).float()
    targets = labels[pos].tolist()
    was_training = model.training
    model.eval()
    try:
        maps = attention_rollout(model, x) if backbone == "vit" else gradcam(model, x, targets)
        with torch.no_grad():
            pred = model(x).argmax(1).tolist()
    finally:
        model.train(was_training)
    method = "attention rollout" if backbone == "vit" else "Grad-CAM"
    return {"method": method, "test_positions": pos, "labels": targets, "pred": pred,
            "maps": np.rint(np.nan_to_num(maps) * 255).astype(int).tolist()}

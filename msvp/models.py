"""Model builder: a backbone for a dataset's image shape, optionally with an MSVP prompt in front."""
from __future__ import annotations

import torch

from .backbones import BACKBONES
from .datasets import DATASETS
from .prompting import CONTROLS, FUSIONS, INIT_STD, SCALE_SETS, PromptedModel, build_prompt, check_choice

PROMPTS = (None,) + tuple(SCALE_SETS) + CONTROLS


def input_shape(dataset) -> tuple[int, int, int]:
    """(C, H, W) for a dataset name, or a shape given directly."""
    if isinstance(dataset, (tuple, list)):
        if len(dataset) != 3:
            raise ValueError(f"an input shape must be (C, H, W), got {dataset!r}")
        return tuple(int(s) for s in dataset)
    check_choice("dataset", dataset, tuple(DATASETS))
    return DATASETS[dataset].shape


def build_backbone(backbone: str, shape: tuple[int, int, int], num_classes: int = 10, *,
                   cnn_dropout=(0.5, 0.3), vit_dropout: float = 0.1):
    check_choice("backbone", backbone, tuple(BACKBONES))
    c, h, w = shape
    if backbone == "vit":
        if h != w:
            raise ValueError(f"the ViT needs square images, got {h}x{w}")
        return BACKBONES[backbone](in_channels=c, num_classes=num_classes, image_size=h, dropout=vit_dropout)
    if backbone == "cnn":
        return BACKBONES[backbone](in_channels=c, num_classes=num_classes, dropout=tuple(cnn_dropout))
    return BACKBONES[backbone](in_channels=c, num_classes=num_classes)


def build_model(backbone: str, dataset, *, prompt: str | None = None, fusion: str = "add",
                num_classes: int = 10, seed: int | None = None, prompt_init_std: float = INIT_STD,
                pad_width: int = 1, cnn_dropout=(0.5, 0.3), vit_dropout: float = 0.1) -> PromptedModel:
    """Build ``backbone`` for ``dataset`` (a name or a (C, H, W) shape), with an optional prompt.

    Pairing guarantee: the backbone is built first and the prompt is initialised on a forked
    random stream, so for the same ``seed`` the baseline and every MSVP variant get bit-identical
    backbone weights and leave the global random state in the same place.
    """
    check_choice("prompt", prompt, PROMPTS)
    check_choice("fusion", fusion, FUSIONS)
    shape = input_shape(dataset)
    if seed is not None:
        torch.manual_seed(seed)
    net = build_backbone(backbone, shape, num_classes, cnn_dropout=cnn_dropout, vit_dropout=vit_dropout)
    with torch.random.fork_rng(devices=[]):
        front = build_prompt(prompt, fusion, shape, init_std=prompt_init_std, pad_width=pad_width)
    return PromptedModel(front, net, shape)


def count_params(module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)

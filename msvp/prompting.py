"""Multi-scale visual prompts (MSVP), with the semantics of the official code.

A prompt is a small learnable image added to (or fused with) the normalised input before the
backbone sees it. Three scales exist: a 1x1 "global" map, a 4x4 "mid" map and an 8x8 "local"
map. Each active map is bilinearly upsampled to the input size and the maps are averaged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Side length of each prompt map; the same for 28 px and 32 px inputs (as in the official code).
PROMPT_SIZES = {"global": 1, "mid": 4, "local": 8}
SCALE_SETS = {
    "global": ("global",),
    "global+mid": ("global", "mid"),
    "full": ("global", "mid", "local"),
}
FUSIONS = ("add", "concat", "gated")
INIT_STD = 0.01  # prompts start as N(0, 1) * 0.01: a near-identity perturbation


def check_choice(kind: str, value, choices) -> None:
    """Raise one ValueError that names the valid choices."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {kind} {value!r}; valid choices: {valid}")


class MultiScalePrompt(nn.Module):
    """Learnable prompts at several scales, fused with the input image.

    Args:
        channels: image channels C (1 for MNIST/Fashion-MNIST, 3 for CIFAR-10).
        scales: "global", "global+mid" or "full" (K = 1, 2, 3 maps).
        fusion: "add" (y = x + mean of maps, the official default; no convolution),
            "concat" (1x1 conv over [x, map_1, ..., map_K], C(K+1) -> C, no bias, no residual) or
            "gated" (y = x + sigmoid(conv(mean)) * mean; the gate sees the prompts only, not x).

    Input and output: (B, C, H, W) with any H, W.
    """

    def __init__(self, channels: int, *, scales: str = "full", fusion: str = "add"):
        super().__init__()
        check_choice("scales", scales, tuple(SCALE_SETS))
        check_choice("fusion", fusion, FUSIONS)
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.channels, self.scales, self.fusion = channels, scales, fusion
        # a list of pairs, not a dict: ParameterDict sorts a dict's keys, and concat's channel order
        # must stay global, mid, local as in the official code
        self.prompts = nn.ParameterDict([
            (name, nn.Parameter(torch.randn(1, channels, PROMPT_SIZES[name], PROMPT_SIZES[name]) * INIT_STD))
            for name in SCALE_SETS[scales]
        ])
        k = len(self.prompts)
        if fusion == "concat":
            self.fuse = nn.Conv2d(channels * (k + 1), channels, kernel_size=1, bias=False)
            nn.init.kaiming_normal_(self.fuse.weight, mode="fan_out", nonlinearity="relu")
        elif fusion == "gated":
            self.gate = nn.Conv2d(channels, channels, kernel_size=1, bias=True)
            nn.init.kaiming_normal_(self.gate.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(self.gate.bias)

    def prompt_maps(self, size: tuple[int, int]) -> list[torch.Tensor]:
        """The active prompts upsampled to ``size`` = (H, W), each (1, C, H, W)."""
        return [F.interpolate(p, size=tuple(size), mode="bilinear", align_corners=False)
                for p in self.prompts.values()]

    def get_prompts(self) -> dict[str, torch.Tensor]:
        """Raw prompt tensors by scale name (detached copies, for figures)."""
        return {name: p.detach().clone() for name, p in self.prompts.items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.prompt_maps(x.shape[-2:])
        if self.fusion == "concat":
            b = x.shape[0]
            return self.fuse(torch.cat([x] + [m.expand(b, -1, -1, -1) for m in maps], dim=1))
        mean = torch.stack(maps).mean(dim=0)
        if self.fusion == "add":
            return x + mean
        return x + torch.sigmoid(self.gate(mean)) * mean

    def extra_repr(self) -> str:
        return f"channels={self.channels}, scales={self.scales!r}, fusion={self.fusion!r}"


class PromptedModel(nn.Module):
    """A backbone with an optional prompt in front; ``prompt=None`` is the baseline.

    The input shape is checked before any layer runs, so a wrong channel count or image size
    gives one clear error instead of a shape mismatch deep inside a convolution.
    """

    def __init__(self, prompt: MultiScalePrompt | None, backbone: nn.Module,
                 input_shape: tuple[int, int, int]):
        super().__init__()
        self.prompt = prompt
        self.backbone = backbone
        self.input_shape = tuple(input_shape)
        self.num_features = getattr(backbone, "num_features", None)

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            c, h, w = self.input_shape
            raise ValueError(f"expected input of shape (B, {c}, {h}, {w}), got {tuple(x.shape)}")

    def apply_prompt(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.prompt is None else self.prompt(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.backbone(self.apply_prompt(x))

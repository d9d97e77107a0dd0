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
# Matched-parameter controls (not in the paper): is it the multi-scale structure, or any input bias?
CONTROLS = ("pad", "fullres", "frozen")


def check_choice(kind: str, value, choices) -> None:
    """Raise one ValueError that names the valid choices."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"unknown {kind} {value!r}; valid choices: {valid}")


def check_channels(channels) -> None:
    if not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")


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

    def __init__(self, channels: int, *, scales: str = "full", fusion: str = "add", init_std: float = INIT_STD):
        super().__init__()
        check_choice("scales", scales, tuple(SCALE_SETS))
        check_choice("fusion", fusion, FUSIONS)
        check_channels(channels)
        self.channels, self.scales, self.fusion = channels, scales, fusion
        # a list of pairs, not a dict: ParameterDict sorts a dict's keys, and concat's channel order
        # must stay global, mid, local as in the official code
        self.prompts = nn.ParameterDict([
            (name, nn.Parameter(torch.randn(1, channels, PROMPT_SIZES[name], PROMPT_SIZES[name]) * init_std))
            for name in SCALE_SETS[scales]
        ])
        k = len(self.prompts)
        if fusion == "concat":
            self.fuse = nn.Conv2d(channels * (k + 1), channels, kernel_size=1, bias=False)
            nn.init.kaiming_normal_(self.fuse.weight, mode="fan_out", nonlinearity="relu")
        elif fusion == "gated":
            self.gate = nn.Conv2d(channels, channels, kernel_size=1, bias=True)
            # official: Kaiming-normal weight; the bias keeps PyTorch's default U(-1/sqrt(C), 1/sqrt(C))
            nn.init.kaiming_normal_(self.gate.weight, mode="fan_out", nonlinearity="relu")

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


class PadPrompt(nn.Module):
    """Control: a learned frame of width ``width`` added to the border of the input, zero inside.

    Parameters: C · (H·W − (H−2w)(W−2w)), e.g. 108 at 1×28×28 and 372 at 3×32×32 for w = 1.
    """

    def __init__(self, channels: int, size: tuple[int, int], *, width: int = 1, init_std: float = INIT_STD):
        super().__init__()
        check_channels(channels)
        h, w = size
        if not 1 <= width < min(h, w) / 2:
            raise ValueError(f"pad width must be in 1..{(min(h, w) - 1) // 2} for {h}x{w} images, got {width}")
        mask = torch.ones(h, w, dtype=torch.bool)
        mask[width:h - width, width:w - width] = False
        self.register_buffer("mask", mask, persistent=False)
        self.border = nn.Parameter(torch.randn(1, channels, int(mask.sum())) * init_std)
        self.channels, self.width = channels, width

    def image(self) -> torch.Tensor:
        """The prompt as a (1, C, H, W) image, zero inside the frame."""
        out = self.border.new_zeros(1, self.channels, *self.mask.shape)
        return out.masked_scatter(self.mask, self.border)

    def get_prompts(self) -> dict[str, torch.Tensor]:
        return {"pad": self.image().detach().clone()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.image()


class FullResPrompt(nn.Module):
    """Control: one learned C×H×W map added to the input (C·H·W parameters: 784 or 3,072)."""

    def __init__(self, channels: int, size: tuple[int, int], *, init_std: float = INIT_STD):
        super().__init__()
        check_channels(channels)
        self.map = nn.Parameter(torch.randn(1, channels, *size) * init_std)

    def get_prompts(self) -> dict[str, torch.Tensor]:
        return {"fullres": self.map.detach().clone()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.map


def build_prompt(prompt: str | None, fusion: str, shape: tuple[int, int, int], *, init_std: float = INIT_STD,
                 pad_width: int = 1) -> nn.Module | None:
    """The prompt module for a RunConfig's ``prompt`` and ``fusion`` (None = baseline).

    ``frozen`` is MSVP add/full with its maps fixed at their random initial values: it perturbs the
    input exactly as MSVP does at step 0 but never learns.
    """
    check_choice("prompt", prompt, (None,) + tuple(SCALE_SETS) + CONTROLS)
    check_choice("fusion", fusion, FUSIONS)
    if prompt in CONTROLS and fusion != "add":
        raise ValueError(f"the {prompt!r} control is additive; use fusion 'add', got {fusion!r}")
    c, h, w = shape
    if prompt is None:
        return None
    if prompt == "pad":
        return PadPrompt(c, (h, w), width=pad_width, init_std=init_std)
    if prompt == "fullres":
        return FullResPrompt(c, (h, w), init_std=init_std)
    module = MultiScalePrompt(c, scales="full" if prompt == "frozen" else prompt, fusion=fusion, init_std=init_std)
    if prompt == "frozen":
        module.requires_grad_(False)
    return module


class PromptedModel(nn.Module):
    """A backbone with an optional prompt in front; ``prompt=None`` is the baseline.

    The input shape is checked before any layer runs, so a wrong channel count or image size
    gives one clear error instead of a shape mismatch deep inside a convolution.
    """

    def __init__(self, prompt: nn.Module | None, backbone: nn.Module,
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

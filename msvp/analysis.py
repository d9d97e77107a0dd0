"""Analysis beyond the paper: what the prompt can and cannot express.

With add or gated fusion the prompt contributes a constant image A (it does not depend on x).
The ViT's patch embedding is linear, so proj(x + A) = proj(x) + W*A: a per-position constant that
the learned position embedding can absorb exactly. Folding it in gives a plain ViT with identical
logits, so on the ViT MSVP adds no representational capacity; any gain is an optimisation effect.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F


def constant_prompt_image(prompt, size) -> torch.Tensor:
    """The image A that add/gated fusion adds to every input, (1, C, H, W)."""
    if prompt.fusion == "concat":
        raise ValueError("concat fusion mixes the prompt with x through a conv: it is not a constant image")
    mean = torch.stack(prompt.prompt_maps(size)).mean(0)
    return mean if prompt.fusion == "add" else torch.sigmoid(prompt.gate(mean)) * mean


@torch.no_grad()
def fold_prompt_into_vit(model):
    """A prompt-free copy of a prompted ViT whose position embedding absorbs the prompt.

    Returns the backbone alone: feed it the raw input and it gives the prompted model's logits.
    """
    vit = copy.deepcopy(model.backbone)
    a = constant_prompt_image(model.prompt, model.input_shape[1:])
    # the patch projection without its bias: the bias is already in proj(x)
    wa = F.conv2d(a, vit.patch_embed.weight, stride=vit.patch_embed.stride).flatten(2).transpose(1, 2)
    vit.pos_embed[:, 1:] += wa[0]
    return vit


@torch.no_grad()
def global_prompt_as_bias(model):
    """For a CNN with a global-only add prompt: a copy whose first conv bias absorbs the constant.

    Exact away from the zero-padded border, where the padding is not shifted by the prompt; the
    returned copy lets one measure that border effect.
    """
    net = copy.deepcopy(model.backbone)
    g = model.prompt.prompts["global"].view(-1)            # one constant per input channel
    conv = net.features[0][0]
    conv.bias += (conv.weight.sum(dim=(2, 3)) * g).sum(1)
    return net

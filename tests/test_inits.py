"""Initialisation statistics per layer against the official recipe (salimkhazem/msvp msvp/models/*.py):
each weight's sample std must be within sampling error of the std its init implies."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from msvp.models import build_backbone
from msvp.prompting import MultiScalePrompt


def close_std(t: torch.Tensor, want: float, name: str) -> None:
    """The sample std of n draws has relative error about 1/sqrt(2n); allow 6 of those plus 2 %."""
    n = t.numel()
    tol = 6 / math.sqrt(2 * n) + 0.02
    got = t.float().std().item()
    assert abs(got / want - 1) < tol, f"{name}: std {got:.5f}, official {want:.5f} (n={n}, tol {tol:.2%})"


def kaiming_fan_out_std(w: torch.Tensor) -> float:
    return math.sqrt(2 / (w.shape[0] * w[0, 0].numel()))


def check_bn_and_conv(model: nn.Module) -> int:
    n = 0
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            close_std(m.weight, kaiming_fan_out_std(m.weight), name)
            if m.bias is not None:
                assert torch.all(m.bias == 0), name
            n += 1
        elif isinstance(m, nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0), name
    return n


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_cnn_init(shape):
    torch.manual_seed(0)
    net = build_backbone("cnn", shape)
    assert check_bn_and_conv(net) == 8
    for name, m in net.named_modules():
        if isinstance(m, nn.Linear):
            close_std(m.weight, 0.01, name)
            assert torch.all(m.bias == 0), name


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_resnet18_init(shape):
    torch.manual_seed(0)
    net = build_backbone("resnet18", shape)
    assert check_bn_and_conv(net) == 20  # stem + 16 block convs + 3 projections
    close_std(net.fc.weight, 0.01, "fc")
    assert torch.all(net.fc.bias == 0)


@pytest.mark.parametrize("shape,patch", [((1, 28, 28), 7), ((3, 32, 32), 4)])
def test_vit_init(shape, patch):
    """Patch conv Kaiming-normal (fan_out), head N(0, 0.02), cls/pos trunc-normal 0.02, and every
    other Linear PyTorch's default, U(±1/sqrt(fan_in)): std 1/sqrt(3 fan_in), biases nonzero."""
    torch.manual_seed(0)
    net = build_backbone("vit", shape)
    close_std(net.patch_embed.weight, math.sqrt(2 / (192 * patch * patch)), "patch_embed")
    assert torch.all(net.patch_embed.bias == 0)
    close_std(net.head.weight, 0.02, "head")
    assert torch.all(net.head.bias == 0)
    close_std(net.pos_embed, 0.02, "pos_embed")
    close_std(net.cls_token, 0.02, "cls_token") if net.cls_token.numel() > 1000 else None
    assert net.cls_token.abs().max() <= 2 and net.cls_token.std() > 0.005
    linears = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Linear) and m is not net.head]
    assert len(linears) == 12 * 4
    for name, m in linears:
        fan_in = m.weight.shape[1]
        close_std(m.weight, 1 / math.sqrt(3 * fan_in), name)
        assert m.bias.abs().max() <= 1 / math.sqrt(fan_in) and m.bias.abs().max() > 0, name


@pytest.mark.parametrize("channels", [1, 3])
def test_gate_init_keeps_default_bias(channels):
    """Gated fusion: Kaiming-normal weight; the bias keeps PyTorch's default U(±1/sqrt(C)), not zero."""
    torch.manual_seed(0)
    biases = torch.cat([MultiScalePrompt(channels, fusion="gated").gate.bias.detach() for _ in range(400)])
    bound = 1 / math.sqrt(channels)
    assert biases.abs().max() <= bound and biases.abs().max() > 0.9 * bound
    close_std(biases, bound / math.sqrt(3), "gate.bias")
    weights = torch.cat([MultiScalePrompt(channels, fusion="gated").gate.weight.detach().flatten() for _ in range(400)])
    close_std(weights, math.sqrt(2 / channels), "gate.weight")

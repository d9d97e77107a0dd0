"""Oracle tests of the prompt module against independent hand computations (design §1)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from msvp import FUSIONS, PROMPT_SIZES, SCALE_SETS, MultiScalePrompt

SCALES = tuple(SCALE_SETS)


def bilinear_np(p: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Independent bilinear resize, align_corners=False: half-pixel centres, clamped at the edges.

    src = (dst + 0.5) * in / out - 0.5, negative src clamped to 0, the upper neighbour clamped to
    the last pixel. p: (C, h, w) -> (C, out_h, out_w), computed in float64.
    """
    def axis(n_in, n_out):
        i0, i1, lam = [], [], []
        for d in range(n_out):
            s = max((d + 0.5) * n_in / n_out - 0.5, 0.0)
            a = min(int(math.floor(s)), n_in - 1)
            i0.append(a)
            i1.append(min(a + 1, n_in - 1))
            lam.append(s - a)
        return np.array(i0), np.array(i1), np.array(lam)

    p = p.astype(np.float64)
    y0, y1, ly = axis(p.shape[1], out_h)
    x0, x1, lx = axis(p.shape[2], out_w)
    ly, lx = ly[:, None], lx[None, :]
    top = p[:, y0][:, :, x0] * (1 - lx) + p[:, y0][:, :, x1] * lx
    bot = p[:, y1][:, :, x0] * (1 - lx) + p[:, y1][:, :, x1] * lx
    return top * (1 - ly) + bot * ly


def randomise(prompt: MultiScalePrompt, seed: int = 0, std: float = 0.3) -> None:
    """Prompts 30x larger than the 0.01 init, so an absolute tolerance of 1e-6 means something
    (float32 interpolation of order-1 values is only good to ~1e-6 relative)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in prompt.prompts.values():
            p.copy_(torch.randn(p.shape, generator=g) * std)


def test_bilinear_reference_on_hand_values():
    """The reference itself: 2 -> 4 of [0, 1] is [0, .25, .75, 1] (half-pixel centres, edge clamp)."""
    out = bilinear_np(np.array([[[0.0, 1.0]]]), 1, 4)
    np.testing.assert_allclose(out[0, 0], [0.0, 0.25, 0.75, 1.0], atol=1e-12)


@pytest.mark.parametrize("side,size", [(4, 28), (8, 32), (1, 28), (4, 32), (8, 28), (1, 32)])
@pytest.mark.parametrize("channels", [1, 3])
def test_prompt_maps_match_hand_bilinear(side, size, channels):
    """prompt_maps = F.interpolate(bilinear, align_corners=False), checked against numpy by hand."""
    scales = {1: "global", 4: "global+mid", 8: "full"}[side]
    m = MultiScalePrompt(channels, scales=scales)
    randomise(m)
    name = {1: "global", 4: "mid", 8: "local"}[side]
    idx = list(m.prompts).index(name)
    got = m.prompt_maps((size, size))[idx]
    assert got.shape == (1, channels, size, size)
    want = bilinear_np(m.prompts[name].detach().numpy()[0], size, size)
    np.testing.assert_allclose(got.detach().numpy()[0], want, atol=1e-6, rtol=0)


def test_global_map_is_constant_per_channel():
    """A 1x1 prompt upsamples to one constant per channel, its own value (to float rounding:
    PyTorch blends the clamped neighbour with weights (1 - l) and l, which is not bit-exact)."""
    m = MultiScalePrompt(3, scales="global")
    randomise(m)
    (up,) = m.prompt_maps((28, 28))
    pg = m.prompts["global"].detach()
    torch.testing.assert_close(up, pg.expand(1, 3, 28, 28), atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_zero_prompts_add_is_identity(channels, size):
    """Zero prompts with add fusion change nothing, bit for bit."""
    m = MultiScalePrompt(channels, scales="full", fusion="add")
    with torch.no_grad():
        for p in m.prompts.values():
            p.zero_()
    x = torch.randn(2, channels, size, size)
    assert torch.equal(m(x), x)


def test_global_add_adds_one_constant_per_channel():
    """Global-only add fusion: y - x is the same number at every pixel of a channel, = P_g[c]."""
    m = MultiScalePrompt(3, scales="global", fusion="add")
    randomise(m)
    x = torch.randn(2, 3, 32, 32)
    d = m(x) - x
    pg = m.prompts["global"].detach().view(1, 3, 1, 1)
    torch.testing.assert_close(d, pg.expand_as(d), atol=1e-6, rtol=0)
    spread = (d.amax(dim=(0, 2, 3)) - d.amin(dim=(0, 2, 3))).abs()
    assert spread.max().item() < 1e-6  # one constant per channel ...
    assert (pg.flatten().abs() > 1e-3).all()  # ... and a real (nonzero) one


@pytest.mark.parametrize("scales", SCALES)
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_add_fusion_is_x_plus_mean_of_hand_maps(scales, channels, size):
    """add: y = x + mean of the K upsampled maps (maps from the numpy reference)."""
    m = MultiScalePrompt(channels, scales=scales, fusion="add")
    randomise(m, 1)
    x = torch.randn(2, channels, size, size)
    maps = [bilinear_np(p.detach().numpy()[0], size, size) for p in m.prompts.values()]
    want = x.numpy() + np.mean(maps, axis=0)[None]
    np.testing.assert_allclose(m(x).detach().numpy(), want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("scales", SCALES)
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_concat_equals_manual_1x1_conv(scales, channels, size):
    """concat: y[o] = sum_i W[o, i] * cat(x, map_1..map_K)[i]; no bias, no residual."""
    m = MultiScalePrompt(channels, scales=scales, fusion="concat")
    randomise(m, 2)
    k = len(SCALE_SETS[scales])
    assert m.fuse.weight.shape == (channels, channels * (k + 1), 1, 1)
    assert m.fuse.bias is None
    w = np.arange(channels * channels * (k + 1), dtype=np.float64).reshape(channels, -1) / 7.0 - 1.0
    with torch.no_grad():
        m.fuse.weight.copy_(torch.from_numpy(w).float().view_as(m.fuse.weight))
    x = torch.randn(2, channels, size, size)
    maps = [bilinear_np(p.detach().numpy()[0], size, size) for p in m.prompts.values()]
    xs = x.numpy().astype(np.float64)
    want = np.zeros_like(xs)
    for b in range(2):
        inputs = [xs[b, c] for c in range(channels)] + [mp[c] for mp in maps for c in range(channels)]
        for o in range(channels):
            want[b, o] = sum(w[o, i] * inputs[i] for i in range(len(inputs)))
    np.testing.assert_allclose(m(x).detach().numpy(), want, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("scales", SCALES)
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_gated_equals_hand_formula(scales, channels, size):
    """gated: y = x + sigmoid(W mean + b) * mean; the gate sees the prompts only, never x."""
    m = MultiScalePrompt(channels, scales=scales, fusion="gated")
    randomise(m, 3)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        m.gate.weight.copy_(torch.randn(m.gate.weight.shape, generator=g))
        m.gate.bias.copy_(torch.randn(m.gate.bias.shape, generator=g))
    w = m.gate.weight.detach().double().numpy()[:, :, 0, 0]
    b = m.gate.bias.detach().double().numpy()
    x = torch.randn(2, channels, size, size)
    mean = np.mean([bilinear_np(p.detach().numpy()[0], size, size) for p in m.prompts.values()], axis=0)
    logits = np.einsum("oi,ihw->ohw", w, mean) + b[:, None, None]
    want = x.numpy() + (1 / (1 + np.exp(-logits)) * mean)[None]
    np.testing.assert_allclose(m(x).detach().numpy(), want, atol=1e-5, rtol=0)


def test_gated_gate_ignores_x():
    """Changing x moves the gated output by exactly the change in x (the gate does not see x)."""
    m = MultiScalePrompt(1, scales="full", fusion="gated")
    randomise(m)
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(m(x + 1.0) - m(x), torch.ones_like(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("scales,fusion,channels", list(itertools.product(SCALES, FUSIONS, (1, 2, 3))))
def test_prompt_parameter_count(scales, fusion, channels):
    """Parameters = C * sum(side^2) (81 C for full) + C(K+1)C for concat, + C^2 + C for gated."""
    m = MultiScalePrompt(channels, scales=scales, fusion=fusion)
    k = len(SCALE_SETS[scales])
    want = channels * sum(PROMPT_SIZES[s] ** 2 for s in SCALE_SETS[scales])
    want += {"add": 0, "concat": channels * (k + 1) * channels, "gated": channels * channels + channels}[fusion]
    assert sum(p.numel() for p in m.parameters()) == want
    assert all(p.requires_grad for p in m.parameters())


@pytest.mark.parametrize("channels,want", [(1, (81, 85, 83)), (3, (243, 279, 255))])
def test_full_prompt_counts_of_design(channels, want):
    """Design §1: full scales add/concat/gated = 81/85/83 (C=1) and 243/279/255 (C=3)."""
    got = tuple(sum(p.numel() for p in MultiScalePrompt(channels, scales="full", fusion=f).parameters())
                for f in ("add", "concat", "gated"))
    assert got == want


def test_prompt_init_scale_and_shapes():
    """Prompts are (1, C, s, s) with s = 1/4/8 and start small (N(0,1) * 0.01)."""
    torch.manual_seed(0)
    m = MultiScalePrompt(3, scales="full")
    assert {k: tuple(v.shape) for k, v in m.prompts.items()} == {
        "global": (1, 3, 1, 1), "mid": (1, 3, 4, 4), "local": (1, 3, 8, 8)}
    local = m.prompts["local"].detach()
    assert 0.003 < local.std().item() < 0.03
    assert local.abs().max().item() < 0.1


def test_get_prompts_returns_detached_copies():
    """get_prompts gives copies: editing them must not touch the parameters."""
    m = MultiScalePrompt(1, scales="full")
    before = m.prompts["mid"].detach().clone()
    got = m.get_prompts()
    assert set(got) == {"global", "mid", "local"}
    got["mid"].add_(1.0)
    assert not got["mid"].requires_grad
    assert torch.equal(m.prompts["mid"].detach(), before)


@pytest.mark.parametrize("kwargs,choices", [
    ({"scales": "local"}, ("'global'", "'global+mid'", "'full'")),
    ({"fusion": "mul"}, ("'add'", "'concat'", "'gated'")),
])
def test_bad_choice_lists_valid_choices(kwargs, choices):
    """An unknown scales/fusion is a ValueError that lists every valid choice."""
    with pytest.raises(ValueError) as e:
        MultiScalePrompt(1, **kwargs)
    msg = str(e.value)
    assert repr(next(iter(kwargs.values()))) in msg
    for c in choices:
        assert c in msg


@pytest.mark.parametrize("channels", [0, -1, 1.5, "3"])
def test_bad_channel_count(channels):
    """channels must be a positive int."""
    with pytest.raises(ValueError, match="channels must be a positive int"):
        MultiScalePrompt(channels)


def test_prompt_order_is_global_mid_local():
    """concat's input channels follow the official order [x, global, mid, local] (ParameterDict would sort a dict)."""
    from msvp.prompting import MultiScalePrompt
    p = MultiScalePrompt(1, scales="full", fusion="concat")
    assert list(p.prompts) == ["global", "mid", "local"]
    assert [m.shape[-1] for m in p.prompts.values()] == [1, 4, 8]

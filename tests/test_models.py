"""Backbones and the model builder: shapes, gradients, official parameter counts (design §2),
pairing of baseline and MSVP at the same seed (design §3, flaw 2), input checks, and learning."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from msvp import FUSIONS, SCALE_SETS, MultiScalePrompt, PromptedModel, build_model, count_params, variant_name
from msvp.backbones.cnn import SimpleCNN

BACKBONES = ("cnn", "resnet18", "vit")
DATASETS = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
# (prompt, fusion): the baseline once, then every scale set with every fusion
VARIANTS = [(None, "add")] + list(itertools.product(SCALE_SETS, FUSIONS))


def variant_id(v):
    return variant_name(*v)


_BASELINES: dict = {}


def baseline(backbone: str, dataset: str) -> PromptedModel:
    """One built baseline per (backbone, dataset), reused: building ResNet/ViT dominates the cost."""
    if (backbone, dataset) not in _BASELINES:
        _BASELINES[backbone, dataset] = build_model(backbone, dataset, seed=0).eval()
    return _BASELINES[backbone, dataset]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("backbone", BACKBONES)
def test_forward_shape_and_finite(backbone, dataset, variant):
    """Every backbone x scales x fusion x image shape maps (2, C, H, W) to finite (2, 10) logits.
    (The prompt is put in front of a shared, already built backbone; build_model itself is exercised
    for every variant by the pairing tests below.)"""
    prompt, fusion = variant
    base = baseline(backbone, dataset)
    shape = DATASETS[dataset]
    assert base.input_shape == shape
    m = base if prompt is None else PromptedModel(
        MultiScalePrompt(shape[0], scales=prompt, fusion=fusion), base.backbone, shape).eval()
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = m(x)
    assert y.shape == (2, 10)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fusion", FUSIONS)
@pytest.mark.parametrize("backbone,dataset", [("cnn", "mnist"), ("cnn", "cifar10"), ("resnet18", "mnist"),
                                              ("vit", "cifar10")])
def test_every_parameter_gets_a_gradient(backbone, dataset, fusion):
    """timm-style: one backward pass in train mode reaches every trainable parameter, prompts and
    fusion convs included. (Dropout is active; batch 4 makes an all-zero gradient implausible.
    The CNN's conv biases sit before BatchNorm, so theirs is only float noise around 0.)"""
    m = build_model(backbone, dataset, prompt="full", fusion=fusion, seed=0).train()
    x = torch.randn(4, *DATASETS[dataset], generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 3, 5, 9])
    logits = m(x)
    (F.cross_entropy(logits, y) + 0.1 * logits.pow(2).mean()).backward()  # a loss on all logits
    missing = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is None]
    zero = [n for n, p in m.named_parameters() if p.requires_grad and p.grad is not None
            and not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient: {missing}"
    assert not zero, f"zero gradient: {zero}"
    prompt_names = {n for n, _ in m.named_parameters() if n.startswith("prompt.")}
    assert {"prompt.prompts.global", "prompt.prompts.mid", "prompt.prompts.local"} <= prompt_names
    assert ("prompt.fuse.weight" in prompt_names) == (fusion == "concat")
    assert ("prompt.gate.weight" in prompt_names) == (fusion == "gated")


def test_cnn_conv_biases_before_batchnorm_get_only_float_noise():
    """Design note, not a bug: the official CNN's conv biases (960 parameters) feed BatchNorm, which
    subtracts the batch mean, so in train mode their gradient is 0 up to float noise. The test above
    passes for them only through that noise; this pins the fact down for the book."""
    m = build_model("cnn", "mnist", prompt="full", seed=0).train()
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    F.cross_entropy(m(x), torch.tensor([0, 3, 5, 9])).backward()
    convs = [(a, b) for blk in m.backbone.features for a, b in zip(blk, list(blk)[1:])
             if isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d)]
    assert len(convs) == 8 and sum(c.bias.numel() for c, _ in convs) == 960
    for conv, _ in convs:
        assert conv.bias.grad.abs().max() < 1e-5 * conv.weight.grad.abs().max()


@pytest.mark.parametrize("backbone,dataset,want", [
    ("cnn", "mnist", 1_207_786), ("cnn", "cifar10", 1_208_362),
    ("resnet18", "mnist", 11_172_810), ("resnet18", "cifar10", 11_173_962),
    ("vit", "mnist", 5_353_738), ("vit", "cifar10", 5_362_762),
])
def test_backbone_parameter_counts_of_design(backbone, dataset, want):
    """Design §2: the official trainable-parameter counts, exactly (the acceptance test)."""
    m = build_model(backbone, dataset)
    assert count_params(m.backbone) == want
    assert count_params(m) == want  # the baseline has nothing else


def test_prompted_model_count_includes_prompt():
    """ResNet-18 on CIFAR-10 with full concat prompts: 11,173,962 + 243 + 36 = 11,174,241."""
    m = build_model("resnet18", "cifar10", prompt="full", fusion="concat")
    assert count_params(m) == 11_174_241
    assert count_params(m.prompt) == 279


def test_count_params_skips_frozen():
    """count_params counts trainable parameters only."""
    m = build_model("cnn", "mnist", prompt="full")
    for p in m.backbone.parameters():
        p.requires_grad_(False)
    assert count_params(m) == 81


def test_vit_patch_grid():
    """ViT patches: 7 px at 28 (4x4 = 16 patches), 4 px at 32 (8x8 = 64 patches), plus cls token."""
    for dataset, grid in (("mnist", 4), ("cifar10", 8)):
        vit = build_model("vit", dataset).backbone
        assert vit.grid == grid
        assert vit.pos_embed.shape == (1, grid * grid + 1, 192)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backbone,dataset", [("cnn", "mnist"), ("cnn", "cifar10"), ("resnet18", "mnist"),
                                              ("vit", "cifar10")])
def test_pairing_same_seed_same_backbone_and_rng(backbone, dataset):
    """Same seed => baseline and every MSVP variant share bit-identical backbone weights and leave the
    global RNG in the same state (so the data order that follows is paired too)."""
    base = build_model(backbone, dataset, seed=3)
    base_state = base.backbone.state_dict()
    base_rng = torch.get_rng_state()
    for prompt, fusion in VARIANTS[1:]:
        m = build_model(backbone, dataset, prompt=prompt, fusion=fusion, seed=3)
        rng = torch.get_rng_state()
        state = m.backbone.state_dict()
        assert state.keys() == base_state.keys()
        diff = [k for k in state if not torch.equal(state[k], base_state[k])]
        assert not diff, f"{variant_name(prompt, fusion)}: backbone differs from baseline in {diff[:5]}"
        assert torch.equal(rng, base_rng), f"{variant_name(prompt, fusion)} moved the global RNG"


def test_pairing_prompts_reproducible_and_seeds_differ():
    """Same seed => same prompts too; a different seed gives a different backbone and prompt."""
    a = build_model("cnn", "cifar10", prompt="full", fusion="gated", seed=0)
    b = build_model("cnn", "cifar10", prompt="full", fusion="gated", seed=0)
    c = build_model("cnn", "cifar10", prompt="full", fusion="gated", seed=1)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    w0 = a.backbone.features[0][0].weight
    assert not torch.equal(w0, c.backbone.features[0][0].weight)
    assert not torch.equal(a.prompt.prompts["local"], c.prompt.prompts["local"])
    assert not torch.equal(a.prompt.gate.weight, c.prompt.gate.weight)


@pytest.mark.parametrize("kwargs,choices", [
    (dict(backbone="vgg", dataset="mnist"), ("'cnn'", "'resnet18'", "'vit'")),
    (dict(backbone="cnn", dataset="svhn"), ("'mnist'", "'fashion_mnist'", "'cifar10'")),
    (dict(backbone="cnn", dataset="mnist", prompt="local"), ("None", "'global'", "'global+mid'", "'full'")),
    (dict(backbone="cnn", dataset="mnist", prompt="full", fusion="mul"), ("'add'", "'concat'", "'gated'")),
    (dict(backbone="cnn", dataset="mnist", fusion="mul"), ("'add'", "'concat'", "'gated'")),
])
def test_bad_names_list_valid_choices(kwargs, choices):
    """Unknown backbone/dataset/prompt/fusion: a ValueError listing every valid choice."""
    backbone, dataset = kwargs.pop("backbone"), kwargs.pop("dataset")
    with pytest.raises(ValueError, match="valid choices") as e:
        build_model(backbone, dataset, **kwargs)
    for c in choices:
        assert c in str(e.value), f"{c} missing from: {e.value}"


def test_bad_shape_arguments():
    """A shape given directly must be (C, H, W); the ViT needs square images."""
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        build_model("cnn", (28, 28))
    with pytest.raises(ValueError, match="square"):
        build_model("vit", (1, 28, 32))
    assert build_model("cnn", (2, 20, 24)).eval()(torch.zeros(1, 2, 20, 24)).shape == (1, 10)


@pytest.mark.parametrize("prompt", [None, "full"])
@pytest.mark.parametrize("bad", [(2, 3, 28, 28), (2, 1, 32, 32), (2, 1, 28, 27), (1, 28, 28), (2, 1, 1, 28, 28)])
def test_wrong_input_shape_fails_before_any_layer(prompt, bad):
    """Wrong channels/size: one ValueError naming expected and given shapes, before any layer runs."""
    m = build_model("cnn", "mnist", prompt=prompt, fusion="concat")
    calls = []
    hooks = [mod.register_forward_pre_hook(lambda mod, args: calls.append(type(mod).__name__))
             for mod in m.modules() if mod is not m]
    with pytest.raises(ValueError) as e:
        m(torch.zeros(bad))
    for h in hooks:
        h.remove()
    assert "(B, 1, 28, 28)" in str(e.value)
    assert str(tuple(bad)) in str(e.value)
    assert calls == [], f"layers ran before the shape check: {calls}"


def test_wrong_input_shape_cifar_message():
    """The message names the dataset's own shape (3, 32, 32) for CIFAR-10 models."""
    m = build_model("resnet18", "cifar10", prompt="global")
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3, 32, 32\), got \(2, 1, 28, 28\)"):
        m(torch.zeros(2, 1, 28, 28))


def quadrant_task(n: int, seed: int):
    """4 classes: a bright 4x4 square somewhere in quadrant y of a noisy 16x16 image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = torch.randn(n, 1, 16, 16, generator=g) * 0.5 - 1.0
    oy = torch.randint(0, 5, (n,), generator=g) + 8 * (y // 2)
    ox = torch.randint(0, 5, (n,), generator=g) + 8 * (y % 2)
    for i in range(n):
        x[i, 0, oy[i]:oy[i] + 4, ox[i]:ox[i] + 4] += 2.0
    return x, y


@pytest.mark.timeout(120)
def test_prompted_cnn_learns_separable_task():
    """200 Adam steps of a (narrow, 16 px) prompted CNN on a separable task beat chance (25%) by far:
    catches a broken training path (detached prompt, frozen layers, wrong loss wiring)."""
    torch.manual_seed(0)
    shape = (1, 16, 16)
    m = PromptedModel(MultiScalePrompt(1, scales="full", fusion="add"),
                      SimpleCNN(in_channels=1, num_classes=4, widths=(8, 16, 16, 16)), shape)
    x, y = quadrant_task(1024, seed=1)
    x_test, y_test = quadrant_task(512, seed=2)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    prompt_before = m.prompt.prompts["local"].detach().clone()
    g = torch.Generator().manual_seed(3)
    m.train()
    for _ in range(200):
        idx = torch.randint(0, len(x), (32,), generator=g)
        loss = F.cross_entropy(m(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        acc = (m(x_test).argmax(1) == y_test).float().mean().item()
    assert acc > 0.85, f"held-out accuracy {acc:.3f} (chance 0.25)"
    assert not torch.equal(m.prompt.prompts["local"].detach(), prompt_before)  # the prompt trained too

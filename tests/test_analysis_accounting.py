"""The absorption analysis (design §4) and the FLOP/latency accounting."""
import pytest
import torch

from msvp import build_model
from msvp.accounting import analytic_prompt_params, forward_flops, interleaved_latency
from msvp.analysis import constant_prompt_image, fold_prompt_into_vit, global_prompt_as_bias


def strong_prompt(model, seed=1):
    with torch.no_grad():
        for p in model.prompt.prompts.values():
            p.normal_(generator=torch.Generator().manual_seed(seed))
    return model


@pytest.mark.parametrize("fusion", ["add", "gated"])
@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_vit_prompt_folds_into_position_embedding(dataset, fusion):
    m = strong_prompt(build_model("vit", dataset, prompt="full", fusion=fusion, seed=0).eval())
    x = torch.randn(3, *m.input_shape)
    with torch.no_grad():
        assert (m(x) - m.backbone(x)).abs().max() > 1e-2          # the prompt matters ...
        assert torch.allclose(m(x), fold_prompt_into_vit(m)(x), atol=1e-4)  # ... and folds exactly


def test_concat_is_not_a_constant_image():
    m = build_model("vit", "mnist", prompt="full", fusion="concat", seed=0)
    with pytest.raises(ValueError, match="concat"):
        constant_prompt_image(m.prompt, (28, 28))


def test_global_prompt_is_first_conv_bias_except_at_border():
    m = build_model("cnn", "mnist", prompt="global", seed=0).eval()
    with torch.no_grad():
        m.prompt.prompts["global"].fill_(0.5)
        x = torch.randn(2, 1, 28, 28)
        a = m.backbone.features[0][0](m.prompt(x))
        b = global_prompt_as_bias(m).features[0][0](x)
    d = (a - b).abs()
    assert d[..., 1:-1, 1:-1].max() < 1e-5 and d.max() > 1e-3


def test_flops_add_prompt_counts_no_conv_but_concat_does():
    base = forward_flops(build_model("cnn", "cifar10", seed=0), (3, 32, 32))
    add = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="add", seed=0), (3, 32, 32))
    cat = forward_flops(build_model("cnn", "cifar10", prompt="full", fusion="concat", seed=0), (3, 32, 32))
    assert add == base
    # a 1x1 conv 12 -> 3 on 32x32 pixels: 2 * 12 * 3 * 1024 FLOPs
    assert cat - base == 2 * 12 * 3 * 32 * 32


def test_analytic_prompt_params():
    assert analytic_prompt_params(1, "full", "add") == 81
    assert analytic_prompt_params(3, "full", "concat") == 279
    assert analytic_prompt_params(3, "global+mid", "gated") == 3 * 17 + 12


def test_interleaved_latency_times_every_model():
    models = {"a": build_model("cnn", "mnist", seed=0), "b": build_model("cnn", "mnist", prompt="full", seed=0)}
    lat = interleaved_latency(models, (1, 28, 28), batch=2, repeats=2)
    assert set(lat) == {"a", "b"} and all(v > 0 for v in lat.values())

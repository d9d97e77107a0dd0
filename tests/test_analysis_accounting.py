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


def accounting_rows():
    """The chapter-9 rows that decide the verdicts: the CNN's main and concat counts on both inputs."""
    import pandas as pd

    rows = [("1x28x28", "add", 81), ("3x32x32", "add", 243), ("3x32x32", "concat", 279)]
    return pd.DataFrame([{"backbone": "cnn", "input": i, "scales": "full", "fusion": f, "backbone_params": 1_208_362,
                          "prompt_params": n, "overhead_pct": 100 * n / 1_208_362} for i, f, n in rows])


def test_parameter_rule_states_the_exact_miss_for_add_and_concat():
    from _lib.costs import params_rule, params_verdict_words

    text = params_rule(accounting_rows())
    # 0.02 % of 1,208,362 allows 241.7: add misses by 1.3 parameters, concat by 37.3
    assert "below 0.02 %" in text and "exact counts" in text and "the CNN at 3 × 32 × 32" in text
    assert "243 (0.0201 %), 1.3 parameters over the bound" in text and "279 (0.0231 %), 37.3 parameters over" in text
    assert params_verdict_words(accounting_rows()) == (
        "not supported: an exact count, 1.3 parameters over the bound on the CNN at 3 × 32 × 32")


def test_compute_rule_states_the_threshold_the_verdict_applies():
    from _lib.costs import compute_rule, rule_constant

    from msvp.verdicts import claim_compute

    assert rule_constant(claim_compute, "flops_tol_pct") == 1.0
    assert "below 1 % of the backbone's convolution and matmul FLOPs" in compute_rule()


def test_latency_reading_names_the_noise_and_the_largest_slowdown():
    import pandas as pd
    from _lib.costs import latency_reading

    ratios = {"baseline": 1.0, "msvp-add-full": 1.016, "msvp-concat-full": 0.922, "msvp-gated-full": 0.973}
    compute = pd.DataFrame([{"backbone": "resnet18", "input": "3x32x32", "variant": v, "latency_ratio": r,
                             "repeats": 25} for v, r in ratios.items()])
    text = latency_reading(compute)
    assert "median of 25 timed repeats" in text and "2 of 3 MSVP ratios are below 1" in text
    assert "noise alone reaches 7.8 % here (0.922, MSVP concat, full on the ResNet-18 at 3 × 32 × 32)" in text
    assert "largest slowdown is 1.6 % (1.016, MSVP add, full" in text

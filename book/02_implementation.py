# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The implementation, checked
#
# **What you will learn**
# - the complete prompt module of the `msvp` package (shown from its source, not retyped);
# - how a prompt is put in front of any backbone without touching the backbone's code;
# - the checks that make us trust it: shapes, gradients, oracles, and the *pairing* of baseline
#   and MSVP runs that the official code lacks.
#
# ## The module
#
# ```{literalinclude} ../msvp/prompting.py
# :language: python
# :pyobject: MultiScalePrompt
# :class: msvp-wrap
# ```
#
# The wrapper keeps the backbone untouched and checks the input shape before any layer runs:
#
# ```{literalinclude} ../msvp/prompting.py
# :language: python
# :pyobject: PromptedModel
# :class: msvp-wrap
# ```

# %% tags=["remove-cell", "colab-setup"]
# In Colab: clone the repository once and import msvp and the book layer (book/_lib) from the clone
# (at once, and after a restart);
# setup() runs the chapter from <repository>/book. Written from _config.yml by tools/colab_cell.py.
import os, subprocess, sys; REPO = "/content/msvp-book"
if "google.colab" in sys.modules:
    os.path.isdir(REPO) or subprocess.run(["git", "clone", "-q", "--depth", "1", "-b", "main", "https://github.com/msvp-book/msvp-book", REPO], check=True)
    sys.path[:0] = [p for p in (REPO, REPO + "/book") if p not in sys.path]
from _lib.colab import setup; _ = setup()  # the book folder; not printed

# %% tags=["parameters"]
PROFILE = "cpu"          # unused: this chapter trains nothing, reads no results

# %%
import numpy as np
import pandas as pd
import torch

from _lib import chapter
from _lib.concept import bilinear_reference
from _lib.names import backbone_title
from _lib.words import check_mark
from msvp import FUSIONS, MultiScalePrompt, build_model

_ = torch.manual_seed(0)   # the random inputs below: same on every run

# %% [markdown]
# ## Shapes and gradients for every combination
#
# Each backbone, on both input shapes, with every fusion at full scales and every scale set with add
# fusion (the combinations the experiments train): the output must be finite with 10 logits, and one
# backward pass must reach every trainable parameter, prompts included (a prompt that gets no
# gradient would silently stay at its initial noise). The test suite runs a forward pass on every
# backbone × scale set × fusion, and checks the gradients of every fusion on four backbone × input pairs.

# %% tags=["nbval-check-output"]
combos = [("full", f) for f in FUSIONS]
combos += [("global", "add"), ("global+mid", "add")]
grads = []
for backbone in ("cnn", "resnet18", "vit"):
    shapes = (("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32)))
    for dataset, shape in shapes:
        finite, no_grad = True, 0
        for scales, fusion in combos:
            m = build_model(backbone, dataset, prompt=scales,
                            fusion=fusion, seed=0).train()
            out = m(torch.randn(2, *shape))
            out.square().mean().backward()
            finite &= (bool(torch.isfinite(out).all())
                       and out.shape == (2, 10))
            no_grad += sum(p.grad is None or not p.grad.abs().sum() > 0
                           for p in m.parameters())
        grads.append({"backbone": backbone_title(backbone),
                     "input": "×".join(map(str, shape)),
                     "combinations": len(combos),
                     "10 finite logits": check_mark(finite),
                     "parameters without gradient": no_grad})
chapter.table(pd.DataFrame(grads))

# %% [markdown]
# ## Oracles
#
# Three checks against independent computations: add fusion with zero prompts is the identity, bit
# for bit; a global-only prompt adds one constant per channel, and the upsampled maps equal a
# bilinear interpolation written out by hand in numpy, both up to float rounding (the table gives
# the tolerance each check allows):
#
# ```{literalinclude} _lib/concept.py
# :language: python
# :pyobject: bilinear_reference
# ```

# %% tags=["nbval-check-output"]
x = torch.randn(4, 3, 32, 32)
zero = MultiScalePrompt(3, scales="full", fusion="add")
with torch.no_grad():
    for p in zero.prompts.values():
        p.zero_()
g = MultiScalePrompt(3, scales="global", fusion="add")
full = MultiScalePrompt(1, scales="full")
pairs = zip(full.prompt_maps((28, 28)), full.prompts.values())
err = max(np.abs(m[0, 0].detach().numpy()
                 - bilinear_reference(p[0, 0].detach().numpy(), 28)
                 ).max()
          for m, p in pairs)
# float32 sums computed in another order differ in the last bits:
# the two float checks allow that much, the identity nothing
ROUNDING = 1e-6
with torch.no_grad():
    ident = zero(x) - x
    shift = g(x) - x - g.prompts["global"].expand_as(x)
oracles = {   # check -> (largest difference, tolerance)
    "zero prompt + add is the identity":
        (float(ident.abs().max()), 0.0),
    "global prompt adds one constant per channel":
        (float(shift.abs().max()), ROUNDING),
    "upsampling equals the hand computation":
        (float(err), ROUNDING),
}
holds = {k: d <= tol for k, (d, tol) in oracles.items()}
chapter.table(pd.DataFrame({
    "check": list(oracles),
    "tolerance": [f"{t:.0e}" if t else "0 (exact)"
                  for _, t in oracles.values()],
    "holds": [check_mark(v) for v in holds.values()]}))

# %% [markdown]
# ## Pairing: the same seed gives the same backbone
#
# The official code builds the prompt *before* the backbone, so at the same seed a baseline and an MSVP
# model start from different backbone weights and a different data order: the comparison then mixes
# the prompt's effect with seed noise. `build_model` builds the backbone first and initialises the
# prompt on a forked random stream; the training loop derives batch order, augmentation and dropout
# from the seed alone. The check below compares every backbone tensor bit for bit.

# %% tags=["nbval-check-output"]
pairing = []
for backbone in ("cnn", "resnet18", "vit"):
    base = build_model(backbone, "cifar10", seed=3).backbone.state_dict()
    same = True
    for f in FUSIONS:
        m = build_model(backbone, "cifar10", prompt="full", fusion=f,
                        seed=3)
        same &= all(torch.equal(base[k], v)
                    for k, v in m.backbone.state_dict().items())
    pairing.append({"backbone": backbone_title(backbone),
                 "same as MSVP add, concat, gated":
                     check_mark(same)})
chapter.table(pd.DataFrame(pairing))

# %% [markdown]
# ## Clear errors
#
# A wrong input is refused before any layer runs, with the expected and the given shape; an unknown
# backbone name is refused when the model is built:

# %% tags=["nbval-check-output"]
m = build_model("cnn", "mnist", prompt="full")
errors = []
wrong_inputs = [("3-channel image, MNIST model", (2, 3, 28, 28)),
                ("32-pixel image, MNIST model", (2, 1, 32, 32))]
for what, shape in wrong_inputs:
    try:
        m(torch.zeros(shape))
    except ValueError as e:
        errors.append({"case": what, "ValueError": str(e)})
UNKNOWN = "unknown backbone name"
try:
    build_model("resnet50", "mnist")
except ValueError as e:
    errors.append({"case": UNKNOWN, "ValueError": str(e)})
chapter.table(pd.DataFrame(errors))

# %% [markdown]
# The test suite (`tests/`) runs the same checks, together with the official parameter count of
# every backbone and a small learning test; chapter 9 compares the prompt counts with the analytic
# formulas.

# %% [markdown]
# ## Key results
#
# The checks of this page, counted from the tables above:

# %% tags=["remove-input"]
exact = sum(holds[k] and t == 0 for k, (_, t) in oracles.items())
refused = [r["case"] for r in errors]
name_refused = UNKNOWN in refused
chapter.key_results([
    f"{sum(r['parameters without gradient'] == 0 for r in grads)} of {len(grads)} backbone × input pairs give every trainable parameter a gradient, prompts included, in all {len(combos)} prompt settings; {sum(r['10 finite logits'] == check_mark(True) for r in grads)} of {len(grads)} give 10 finite logits.",
    f"{sum(holds.values())} of {len(oracles)} oracles hold ({exact} exactly, {sum(holds.values()) - exact} within float rounding of {ROUNDING:.0e}): zero prompt, global prompt and bilinear upsampling.",
    f"{sum(r['same as MSVP add, concat, gated'] == check_mark(True) for r in pairing)} of {len(pairing)} backbones start from bit-identical weights with and without a prompt at the same seed.",
    f"{len(refused) - name_refused} of {len(wrong_inputs)} wrong inputs are refused before any layer runs, and an unknown backbone name {'is' if name_refused else 'is NOT'} refused when the model is built, each with a ValueError that names what was expected.",
])

# %% [markdown]
# ## Exercises
#
# Each exercise's starting code runs in this notebook as it stands.
#
# 1. **The prompt's gradient.** With add fusion a global prompt is added to every pixel of every
#    image, so its gradient is the sum of the input gradient over all pixels and images. Check it,
#    then explain why.
#
#    ```python
#    import torch
#
#    from msvp import build_model
#
#    m = build_model("cnn", "mnist", prompt="global", seed=0)
#    x = torch.randn(4, 1, 28, 28, requires_grad=True)
#    m(x).square().mean().backward()
#    print(m.prompt.prompts["global"].grad.item(), x.grad.sum().item())
#    ```
#
# 2. **Pairing.** At the same seed a baseline and an MSVP model share their backbone weights; at
#    another seed they do not. Check both, then try the ViT.
#
#    ```python
#    import torch
#
#    from msvp import build_model
#
#    a = build_model("cnn", "cifar10", seed=3).backbone.state_dict()
#    b = build_model("cnn", "cifar10", prompt="full", seed=3).backbone
#    c = build_model("cnn", "cifar10", seed=4).backbone.state_dict()
#    b = b.state_dict()
#    print(all(torch.equal(a[k], b[k]) for k in a))   # same seed
#    print(all(torch.equal(a[k], c[k]) for k in a))   # another seed
#    ```
#
# 3. **A zero prompt that still changes the image.** A zero add prompt is the identity; is a zero
#    `concat` prompt? Look at what its 1 × 1 convolution does to the image channels.
#
#    ```python
#    import torch
#
#    from msvp import MultiScalePrompt
#
#    cat = MultiScalePrompt(3, scales="full", fusion="concat")
#    with torch.no_grad():
#        for p in cat.prompts.values():
#            p.zero_()
#        x = torch.randn(2, 3, 32, 32)
#        print((cat(x) - x).abs().max())
#    ```

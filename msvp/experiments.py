"""The experiments: the registry of variants (what sits in front of the backbone) and its groups.

Not part of the training fingerprint: a variant's numerics are its ``RunConfig.prompt`` and
``RunConfig.fusion`` (stored with every run), so adding a variant or relabelling one leaves every
committed run current.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import RunConfig, variant_name
from .prompting import FUSIONS, PROMPT_SIZES, SCALE_SETS, check_choice


@dataclass(frozen=True)
class Variant:
    """One arm of a comparison: what sits in front of the backbone."""
    name: str                 # path-safe id, used in result paths and tables
    label: str                # for readers
    kind: str                 # "baseline", "msvp" or "control"
    prompt: str | None        # RunConfig.prompt
    fusion: str = "add"       # RunConfig.fusion

    def params(self, channels: int, height: int, width: int, pad_width: int = 1) -> int:
        """Trainable parameters the variant adds to the backbone (the analytic formula)."""
        c, p = channels, self.prompt
        if p is None or p == "frozen":
            return 0
        if p == "pad":
            return c * (height * width - (height - 2 * pad_width) * (width - 2 * pad_width))
        if p == "fullres":
            return c * height * width
        k = len(SCALE_SETS[p])
        maps = c * sum(PROMPT_SIZES[s] ** 2 for s in SCALE_SETS[p])
        return maps + {"add": 0, "concat": c * (k + 1) * c, "gated": c * c + c}[self.fusion]


def _msvp(scales: str, fusion: str) -> Variant:
    return Variant(variant_name(scales, fusion), f"MSVP {fusion}/{scales}", "msvp", scales, fusion)


VARIANTS: dict[str, Variant] = {v.name: v for v in [
    Variant("baseline", "baseline", "baseline", None),
    *(_msvp(s, f) for f in FUSIONS for s in SCALE_SETS),
    Variant("control-pad", "pad prompt (border, width 1)", "control", "pad"),
    Variant("control-fullres", "full-resolution prompt", "control", "fullres"),
    Variant("control-frozen", "frozen random MSVP", "control", "frozen"),
]}
MAIN_VARIANTS = ("baseline", "msvp-add-full", "msvp-concat-full")   # both readings of the paper's fusion
SCALE_ABLATION = ("msvp-add-global", "msvp-add-global_mid", "msvp-add-full")
FUSION_ABLATION = ("msvp-add-full", "msvp-concat-full", "msvp-gated-full")
CONTROL_VARIANTS = ("control-pad", "control-fullres", "control-frozen")


def config_for(variant: str, **settings) -> RunConfig:
    """A RunConfig for a registered variant name, e.g. ``config_for('msvp-concat-full', dataset='cifar10')``."""
    check_choice("variant", variant, tuple(VARIANTS))
    v = VARIANTS[variant]
    return RunConfig(prompt=v.prompt, fusion=v.fusion, **settings)

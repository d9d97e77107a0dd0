"""The one table of names: titles, labels, colours and orders used by every page and figure."""
from __future__ import annotations

from msvp.datasets import DATASETS
from msvp.experiments import BACKBONE_TITLES, FUSION_ABLATION, SCALE_ABLATION, VARIANTS

DATASET_ORDER = ("mnist", "fashion_mnist", "cifar10")
BACKBONE_ORDER = ("cnn", "resnet18", "vit")
CHAPTERS = {"mnist": "03_mnist.ipynb", "fashion_mnist": "04_fashion_mnist.ipynb", "cifar10": "05_cifar10.ipynb"}

BASE = "baseline"
MAIN = "msvp-add-full"
CONCAT = "msvp-concat-full"
MAIN_PAIR = (BASE, MAIN)
READINGS = (MAIN, CONCAT)      # both readings of the abstract's fusion: the code's add, the text's 1×1 conv
SCALE_VARIANTS = (BASE, *SCALE_ABLATION)
FUSION_VARIANTS = (BASE, *FUSION_ABLATION)

VARIANT_LABELS = {"baseline": "baseline", "msvp-add-full": "MSVP add, full", "msvp-add-global": "MSVP add, global",
                  "msvp-add-global_mid": "MSVP add, global+mid", "msvp-concat-full": "MSVP concat, full",
                  "msvp-gated-full": "MSVP gated, full"}
"""Figure and table labels; other variants fall back to their id."""
SHORT = {"msvp-add-full": "MSVP add/full", "control-pad": "pad prompt", "control-fullres": "full-resolution prompt",
         "control-frozen": "frozen random prompt", "msvp-add-global": "global-only prompt"}
"""The controls chapter's names of its arms (a sentence reads 'the pad prompt falls short')."""

VARIANT_COLORS = {"baseline": "#666666", "msvp-add-full": "#d95f02", "msvp-add-global": "#1b9e77",
                  "msvp-add-global_mid": "#7570b3", "msvp-concat-full": "#e7298a", "msvp-gated-full": "#1f78b4"}
VARIANT_MARKERS = {"msvp-add-full": "o", "msvp-concat-full": "s", "msvp-gated-full": "^", "msvp-add-global": "D",
                   "msvp-add-global_mid": "v", "baseline": "o"}
VERDICT_COLORS = {"improves": "#1b7837", "hurts": "#b2182b", "equivalent": "#2166ac"}
SCALE_COLORS = {"global": "#56B4E9", "global_mid": "#0072B2", "full": "#D55E00"}   # Okabe-Ito
FUSION_MARKERS = {"add": "o", "concat": "s", "gated": "D"}
CONTROL_STYLE = {"control-pad": ("^", "#009E73"), "control-fullres": ("v", "#CC79A7"), "control-frozen": ("X", "#222222")}
FUSION_STYLES = {"add": ("o", "#d95f02", -0.22), "concat": ("s", "#e7298a", 0.0), "gated": ("^", "#1f78b4", 0.22)}


def backbone_title(backbone: str) -> str:
    return BACKBONE_TITLES.get(backbone, backbone)


def label(variant: str) -> str:
    return VARIANT_LABELS.get(variant, variant)


def short(variant: str) -> str:
    return SHORT.get(variant, VARIANTS[variant].label if variant in VARIANTS else variant)


def short_label(variant: str) -> str:
    """Legend text: 'MSVP add · global+mid', 'pad prompt', ..."""
    if variant in SHORT and variant.startswith("control"):
        return SHORT[variant]
    v = VARIANTS[variant]
    return f"MSVP {v.fusion} · {v.prompt}"


def fusion_of(treatment: str) -> str:
    """'add' for 'msvp-add-full': the reading a main comparison stands for."""
    return treatment.split("-")[1]


def cell_name(dataset: str, backbone: str, treatment: str | None = None) -> str:
    """'CIFAR-10 · ResNet-18', with ' · concat' when a treatment is named."""
    fusion = f" · {VARIANTS[treatment].fusion}" if treatment in VARIANTS else ""
    return f"{DATASETS[dataset].title} · {backbone_title(backbone)}{fusion}"


def rank(order, x) -> int:
    return order.index(x) if x in order else len(order)


def cell_key(cell: tuple[str, str]) -> tuple:
    """Data sets in the book's order (MNIST, Fashion-MNIST, CIFAR-10), then backbones in theirs."""
    d, b = cell
    return rank(DATASET_ORDER, d), rank(BACKBONE_ORDER, b), d, b


def ordered(cells) -> list[tuple[str, str]]:
    return sorted(cells, key=cell_key)


def variant_style(variant: str) -> tuple[str, str]:
    """(marker, colour): colour = MSVP scale set (or control), marker = fusion (or control)."""
    if variant in CONTROL_STYLE:
        return CONTROL_STYLE[variant]
    _, fusion, scales = variant.split("-", 2)
    return FUSION_MARKERS[fusion], SCALE_COLORS[scales]

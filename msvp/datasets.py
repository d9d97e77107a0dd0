"""Static facts about the three datasets: shapes, classes, normalisation, exact class counts."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    shape: tuple[int, int, int]           # (C, H, W)
    classes: tuple[str, ...]
    mean: tuple[float, ...]               # per-channel normalisation of x/255 (design §3)
    std: tuple[float, ...]
    train_counts: tuple[int, ...]         # images per class in the official training set
    test_counts: tuple[int, ...]
    augment: str                          # "crop+rotate" or "crop+flip"


DATASETS = {
    "mnist": DatasetSpec(
        "mnist", "MNIST", (1, 28, 28), tuple(str(i) for i in range(10)), (0.5,), (0.5,),
        (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
        (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009), "crop+rotate"),
    "fashion_mnist": DatasetSpec(
        "fashion_mnist", "Fashion-MNIST", (1, 28, 28),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        (0.5,), (0.5,), (6000,) * 10, (1000,) * 10, "crop+rotate"),
    "cifar10": DatasetSpec(
        "cifar10", "CIFAR-10", (3, 32, 32),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), (5000,) * 10, (1000,) * 10, "crop+flip"),
}

# The offline mirror files we know, by sha256 (../shared/datasets/README.md). CIFAR-10's copy is
# real but incomplete (111 images missing), so it is a named variant with its own class counts.
MIRROR_FILES = {
    "mnist": {"06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64": "complete"},
    "fashion_mnist": {"5b6d2c4c694a91887af8ab7d039c04f80af3c29378d731c93a538d2e831aa469": "complete"},
    "cifar10": {"c1736264dd72e09b01adb4ed8be8dd4091c885fa4bb25c36623034faa7df3af1": "offline-copy"},
}
VARIANT_COUNTS = {
    ("cifar10", "offline-copy"): ((5000,) * 7 + (4995, 4919, 5000), (1000,) * 7 + (999, 976, 1000)),
}

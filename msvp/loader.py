"""In-memory loader: the whole split is one uint8 tensor on the run's device; batches are
shuffled with a seeded ``randperm`` and augmented together on the device (no workers, no PIL)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .datasets import DATASETS

PAD = 4            # pixels of zero padding before the random crop (RandomCrop(size, padding=4))
MAX_ROTATION = 10  # degrees, MNIST-family only (RandomRotation(10))


def random_affine(x: torch.Tensor, g: torch.Generator, *, shift: int, degrees: float, flip: bool) -> torch.Tensor:
    """Random crop after zero padding, rotation and horizontal flip, as one batched resampling.

    x: (B, C, H, W) floats in [0, 1]. For output pixel p the source is R(angle) p + shift, which is
    rotate(crop(x)) in torchvision's order; nearest sampling keeps integer shifts exact and
    zero fill matches torchvision's black padding.
    """
    b, _, h, w = x.shape
    dev = x.device
    dx = torch.randint(-shift, shift + 1, (b,), generator=g, device=dev).float()
    dy = torch.randint(-shift, shift + 1, (b,), generator=g, device=dev).float()
    angle = (torch.rand(b, generator=g, device=dev) * 2 - 1) * math.radians(degrees)
    sign = torch.ones(b, device=dev)
    if flip:
        sign = torch.where(torch.rand(b, generator=g, device=dev) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # normalised coordinates run over [-1, 1]; rotation is done in pixel units so non-square
    # images rotate correctly, and a shift of k pixels is 2k / size
    theta = torch.stack([
        torch.stack([cos * sign, -sin * h / w, 2 * dx / w], dim=1),
        torch.stack([sin * w / h * sign, cos, 2 * dy / h], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


class TensorLoader:
    """Batches of (normalised float images, labels) from uint8 tensors held on ``device``.

    Args:
        images: (N, C, H, W) uint8. labels: (N,) int64.
        dataset: name, for normalisation and the augmentation recipe.
        train: shuffle (and augment, unless ``augment`` is False); otherwise fixed order, clean images.
        seed: the epoch-``e`` order and augmentation come from a generator seeded by (seed, e),
            so two runs with the same seed see identical batches, and a resumed run continues
            exactly where it stopped.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, dataset: str, batch_size: int = 128,
                 train: bool = False, augment: bool = True, seed: int = 0, device="cpu", drop_last: bool = False):
        spec = DATASETS[dataset]
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != spec.shape:
            raise ValueError(f"expected uint8 images of shape (N, {spec.shape}), got {images.dtype} {tuple(images.shape)}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"need one label per image: {len(images)} images, labels of shape {tuple(labels.shape)}")
        self.device = torch.device(device)
        self.images, self.labels = images.to(self.device), labels.to(self.device)
        self.mean = torch.tensor(spec.mean, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(spec.std, device=self.device).view(1, -1, 1, 1)
        self.batch_size, self.train, self.seed, self.drop_last = batch_size, train, seed, drop_last
        self.augment = train and augment
        self.rotate = MAX_ROTATION if spec.augment == "crop+rotate" else 0
        self.flip = spec.augment == "crop+flip"
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def generator(self) -> torch.Generator:
        # on the run's device: CPU runs (and CUDA runs) are each reproducible, but the two streams differ
        g = torch.Generator(device=self.device)
        g.manual_seed(1_000_003 * (self.seed + 1) + self.epoch)
        return g

    def normalise(self, x_uint8: torch.Tensor) -> torch.Tensor:
        return (x_uint8.float() / 255 - self.mean) / self.std

    def __iter__(self):
        n = len(self.labels)
        g = self.generator() if self.train else None
        order = torch.randperm(n, generator=g, device=self.device) if self.train else torch.arange(n, device=self.device)
        for i in range(len(self)):
            idx = order[i * self.batch_size:(i + 1) * self.batch_size]
            x = self.images[idx].float() / 255
            if self.augment:
                x = random_affine(x, g, shift=PAD, degrees=self.rotate, flip=self.flip)
            yield (x - self.mean) / self.std, self.labels[idx]

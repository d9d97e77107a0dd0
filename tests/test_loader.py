"""The in-memory loader: seeded order and augmentation, full coverage per epoch, clean evaluation
batches, and the crop/flip resampling checked against a hand computation."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from msvp.datasets import DATASETS
from msvp.loader import PAD, TensorLoader, random_affine


@pytest.fixture(scope="module")
def mnist_small(mnist):
    """100 real MNIST images; labels replaced by their position so every image is traceable."""
    return mnist.x_train[:100].clone(), torch.arange(100)


@pytest.fixture(scope="module")
def cifar_small():
    """40 synthetic 3x32x32 uint8 images with id labels (CIFAR recipe: crop + flip, no rotation)."""
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (40, 3, 32, 32), generator=g, dtype=torch.uint8), torch.arange(40)


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


def normalised(images, dataset):
    spec = DATASETS[dataset]
    mean = torch.tensor(spec.mean).view(1, -1, 1, 1)
    std = torch.tensor(spec.std).view(1, -1, 1, 1)
    return (images.float() / 255 - mean) / std


def test_same_seed_same_batches_other_seed_differs(mnist_small):
    """Two train loaders with one seed give identical batches (x and y); another seed does not."""
    x, y = mnist_small
    a = batches(TensorLoader(x, y, dataset="mnist", batch_size=32, train=True, seed=5))
    b = batches(TensorLoader(x, y, dataset="mnist", batch_size=32, train=True, seed=5))
    c = batches(TensorLoader(x, y, dataset="mnist", batch_size=32, train=True, seed=6))
    assert len(a) == len(b) == 4
    assert all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in zip(a, b))
    assert not torch.equal(a[0][1], c[0][1])


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("batch_size", [32, 100, 7])
def test_every_image_once_per_epoch(mnist_small, train, batch_size):
    """Each image appears exactly once per epoch (last batch may be short), train and eval alike."""
    x, y = mnist_small
    loader = TensorLoader(x, y, dataset="mnist", batch_size=batch_size, train=train, seed=0)
    got = batches(loader)
    assert len(got) == len(loader) == -(-100 // batch_size)
    ids = torch.cat([b[1] for b in got])
    assert torch.equal(torch.sort(ids).values, torch.arange(100))
    assert all(b[0].shape[0] == b[1].shape[0] for b in got)


def test_drop_last(mnist_small):
    x, y = mnist_small
    loader = TensorLoader(x, y, dataset="mnist", batch_size=32, train=True, drop_last=True)
    got = batches(loader)
    assert len(loader) == len(got) == 3 and all(len(b[1]) == 32 for b in got)


def test_set_epoch_changes_order_and_is_replayable(mnist_small):
    """Epoch e's order comes from (seed, e): a new epoch reshuffles, revisiting an epoch replays it."""
    x, y = mnist_small
    loader = TensorLoader(x, y, dataset="mnist", batch_size=100, train=True, seed=1)
    e0 = batches(loader)[0]
    loader.set_epoch(1)
    e1 = batches(loader)[0]
    assert not torch.equal(e0[1], e1[1])
    loader.set_epoch(0)
    again = batches(loader)[0]
    assert torch.equal(e0[0], again[0]) and torch.equal(e0[1], again[1])


def test_train_augmentation_changes_images_keeps_labels_and_range(mnist_small):
    """MNIST training batches: augmented (not the clean images), still paired with their labels, and
    every value a normalised 8-bit pixel inside [(0 - 0.5) / 0.5, (1 - 0.5) / 0.5]."""
    x, y = mnist_small
    loader = TensorLoader(x, y, dataset="mnist", batch_size=50, train=True, seed=2)
    clean = normalised(x, "mnist")
    n_changed = 0
    for xb, yb in loader:
        assert xb.dtype == torch.float32 and xb.shape == (len(yb), 1, 28, 28)
        assert xb.min() >= -1.0 and xb.max() <= 1.0
        pixels = (xb * 0.5 + 0.5) * 255
        assert torch.allclose(pixels, pixels.round(), atol=1e-3)  # nearest sampling: no new grey levels
        n_changed += sum(not torch.equal(xb[i], clean[yb[i]]) for i in range(len(yb)))
        # the label still belongs to its image: over all shifts of up to 4 px, the augmented digit
        # correlates best with its own source image, for most images (rotation blurs the match)
        aug, src = (xb * 0.5 + 0.5), (clean * 0.5 + 0.5)
        corr = F.conv2d(F.pad(aug, (PAD,) * 4), src).amax(dim=(2, 3))  # (batch, 100)
        corr = corr / (aug.flatten(1).norm(dim=1)[:, None] * src.flatten(1).norm(dim=1)[None])
        assert (corr.argmax(1) == yb).float().mean() >= 0.7  # a broken pairing would give ~1%
    assert n_changed > 80


def crop_flip_by_hand(x: torch.Tensor, dx: int, dy: int, flip: bool) -> torch.Tensor:
    """torchvision order: RandomCrop(padding=4) then horizontal flip. x: (C, H, W)."""
    c, h, w = x.shape
    padded = F.pad(x, (PAD, PAD, PAD, PAD))
    out = padded[:, PAD + dy:PAD + dy + h, PAD + dx:PAD + dx + w]
    return out.flip(-1) if flip else out


@pytest.mark.parametrize("flip", [False, True])
def test_random_affine_without_rotation_is_padded_crop(cifar_small, flip):
    """degrees=0: the resampling equals a zero-padded crop (and flip) exactly, with the offsets (and flip
    signs) drawn from the generator in the documented order dx, dy, angle, flip."""
    x = cifar_small[0][:16].float() / 255
    out = random_affine(x, torch.Generator().manual_seed(9), shift=PAD, degrees=0, flip=flip)
    g = torch.Generator().manual_seed(9)
    dx = torch.randint(-PAD, PAD + 1, (16,), generator=g)
    dy = torch.randint(-PAD, PAD + 1, (16,), generator=g)
    torch.rand(16, generator=g)  # the (zero) rotation angle
    flips = torch.rand(16, generator=g) < 0.5 if flip else torch.zeros(16, dtype=torch.bool)
    assert len(set(dx.tolist())) > 3 and (not flip or 0 < flips.sum() < 16)
    for i in range(16):
        want = crop_flip_by_hand(x[i], int(dx[i]), int(dy[i]), bool(flips[i]))
        assert torch.equal(out[i], want), f"image {i}: dx={int(dx[i])} dy={int(dy[i])} flip={bool(flips[i])}"


def test_random_affine_zero_shift_is_identity():
    """No shift, no rotation, no flip: every pixel lands on itself (non-square too)."""
    x = torch.rand(3, 2, 20, 28)
    assert torch.equal(random_affine(x, torch.Generator().manual_seed(0), shift=0, degrees=0, flip=False), x)


def test_cifar_train_batches_are_crops_and_flips_of_their_own_image(cifar_small):
    """CIFAR recipe: each augmented image is exactly some padded crop (+ flip) of the image its label
    names, normalised with the CIFAR-10 mean/std."""
    x, y = cifar_small
    loader = TensorLoader(x, y, dataset="cifar10", batch_size=40, train=True, seed=3)
    (xb, yb), = batches(loader)
    src = x.float() / 255
    spec = DATASETS["cifar10"]
    lo = torch.tensor([-m / s for m, s in zip(spec.mean, spec.std)]).view(1, 3, 1, 1)
    hi = torch.tensor([(1 - m) / s for m, s in zip(spec.mean, spec.std)]).view(1, 3, 1, 1)
    assert (xb >= lo - 1e-6).all() and (xb <= hi + 1e-6).all()
    pixels = xb * torch.tensor(spec.std).view(1, 3, 1, 1) + torch.tensor(spec.mean).view(1, 3, 1, 1)
    flips = 0
    for i in range(len(yb)):
        cands = [(dx, dy, f) for dx in range(-PAD, PAD + 1) for dy in range(-PAD, PAD + 1) for f in (False, True)
                 if torch.allclose(pixels[i], crop_flip_by_hand(src[yb[i]], dx, dy, f), atol=1e-5)]
        assert cands, f"batch image {i} is no crop/flip of image {int(yb[i])}"
        flips += cands[0][2]
    assert 0 < flips < len(yb)  # both flipped and unflipped images occur


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_eval_batches_are_clean_normalised_images_in_order(dataset, mnist_small, cifar_small):
    """Evaluation loaders: no shuffling, no augmentation, exactly (x / 255 - mean) / std in order."""
    x, y = mnist_small if dataset == "mnist" else cifar_small
    loader = TensorLoader(x, y, dataset=dataset, batch_size=32, train=False, seed=123)
    got = batches(loader)
    assert torch.equal(torch.cat([b[1] for b in got]), y)
    assert torch.equal(torch.cat([b[0] for b in got]), normalised(x, dataset))
    loader.set_epoch(3)  # epochs do not matter for evaluation
    assert torch.equal(torch.cat([b[0] for b in batches(loader)]), normalised(x, dataset))


@pytest.mark.parametrize("images,dataset", [
    (torch.zeros(4, 1, 28, 28), "mnist"),                       # float, not uint8
    (torch.zeros(4, 1, 28, 28, dtype=torch.int64), "mnist"),    # wrong integer type
    (torch.zeros(4, 3, 28, 28, dtype=torch.uint8), "mnist"),    # wrong channels
    (torch.zeros(4, 1, 32, 32, dtype=torch.uint8), "mnist"),    # wrong size
    (torch.zeros(4, 28, 28, dtype=torch.uint8), "mnist"),       # no channel axis
    (torch.zeros(4, 3, 32, 32, dtype=torch.uint8).permute(0, 2, 3, 1), "cifar10"),  # HWC
])
def test_wrong_dtype_or_shape_is_refused(images, dataset):
    with pytest.raises(ValueError, match="expected uint8 images of shape"):
        TensorLoader(images, torch.zeros(4, dtype=torch.int64), dataset=dataset)


@pytest.mark.parametrize("n_labels", [3, 5])
def test_label_count_must_match_image_count(n_labels):
    """4 images with 3 or 5 labels must be refused up front. Otherwise the loader silently drops images
    (3 labels: len() and the permutation follow the labels) or fails mid-epoch with an IndexError."""
    images = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    with pytest.raises(ValueError):
        TensorLoader(images, torch.zeros(n_labels, dtype=torch.int64), dataset="mnist", train=True)

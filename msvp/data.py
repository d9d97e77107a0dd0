"""Real datasets as uint8 tensors: package cache -> offline mirror -> torchvision download.

Every source is verified before use (sha256 for known mirror files, then shapes, dtypes and exact
per-class counts) and the result is cached once as an uncompressed ``.npz`` with its provenance.
"""
from __future__ import annotations

import hashlib
import json
import lzma
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .datasets import DATASETS, MIRROR_FILES, VARIANT_COUNTS
from .prompting import check_choice
from .store import write_atomic

MIRROR_ENV = "MSVP_DATA_MIRROR"
SPLIT_SEED = 42          # fixed train/validation split, independent of the run seed
VAL_FRACTION = 0.1
CACHE_VERSION = 1


class DataError(RuntimeError):
    """A data file is missing, corrupt or not the data set it claims to be."""


@dataclass
class Dataset:
    name: str
    x_train: torch.Tensor   # (N, C, H, W) uint8
    y_train: torch.Tensor   # (N,) int64
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    provenance: dict        # source, variant, sha256, image counts

    @property
    def label(self) -> str:
        return provenance_label(self.provenance)


def provenance_label(prov: dict) -> str:
    """e.g. 'CIFAR-10 (offline copy, 49,914 train / 9,975 test)'."""
    title = DATASETS[prov["dataset"]].title
    variant = "complete" if prov["variant"] == "complete" else prov["variant"].replace("-", " ")
    return f"{title} ({variant}, {prov['n_train']:,} train / {prov['n_test']:,} test)"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def read_npz(path: Path, keys=("x_train", "y_train", "x_test", "y_test")) -> dict:
    """Read arrays, turning a truncated or corrupt archive into one clear DataError."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; expected {list(keys)}")
            return {k: f[k] for k in keys}
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, zlib.error, lzma.LZMAError) as e:
        raise DataError(f"{path} is truncated or corrupt ({type(e).__name__}: {e}); "
                        f"delete it and fetch it again") from e


def expected_counts(name: str, variant: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    spec = DATASETS[name]
    return VARIANT_COUNTS.get((name, variant), (spec.train_counts, spec.test_counts))


def to_nchw(name: str, arrays: dict, origin: str) -> dict:
    """Mirror layout (N, H, W) or (N, H, W, C) -> (N, C, H, W) uint8 and int64 labels."""
    c, h, w = DATASETS[name].shape
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        want = (h, w) if c == 1 else (h, w, c)
        if x.dtype != np.uint8 or x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
            raise DataError(f"{origin}: x_{split} is {x.dtype} {x.shape}, expected uint8 (N, {', '.join(map(str, want))})")
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{origin}: y_{split} is {y.dtype} {y.shape}, expected integer labels ({len(x)},)")
        out[f"x_{split}"] = x[:, None] if c == 1 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        out[f"y_{split}"] = y.astype(np.int64)
    return out


def check_structure(name: str, arrays: dict, variant: str, origin: str) -> None:
    """Shapes, dtypes, label range and exact per-class counts of the variant."""
    shape = DATASETS[name].shape
    for split, want in zip(("train", "test"), expected_counts(name, variant)):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or tuple(x.shape[1:]) != shape:
            raise DataError(f"{origin}: x_{split} is {x.dtype} {x.shape}, expected uint8 (N, {shape})")
        if y.min(initial=0) < 0 or y.max(initial=0) >= len(want):
            raise DataError(f"{origin}: y_{split} has labels outside 0..{len(want) - 1}")
        got = tuple(np.bincount(y, minlength=len(want)).tolist())
        if got != tuple(want):
            raise DataError(f"{origin}: {split} class counts {got} differ from the expected {tuple(want)} "
                            f"for {DATASETS[name].title} ({variant})")


def cache_paths(name: str, root) -> tuple[Path, Path]:
    base = Path(root) / "msvp-cache"
    return base / f"{name}.npz", base / f"{name}.json"


def write_cache(name: str, arrays: dict, prov: dict, root) -> None:
    npz, meta = cache_paths(name, root)
    npz.parent.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(npz.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    digest = sha256(tmp)
    os.replace(tmp, npz)  # only verified arrays reach this point, so a good cache is never replaced by a bad one
    write_atomic(meta, json.dumps({**prov, "cache_sha256": digest, "cache_version": CACHE_VERSION}, indent=1))


def read_cache(name: str, root) -> tuple[dict, dict] | None:
    npz, meta = cache_paths(name, root)
    if not (npz.exists() and meta.exists()):
        return None
    try:
        prov = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"the cache record {meta} is unreadable ({e}); delete it and {npz.name}, then load again") from e
    if not isinstance(prov, dict) or prov.get("cache_version") != CACHE_VERSION or sha256(npz) != prov.get("cache_sha256"):
        raise DataError(f"the cache {npz} does not match its record {meta}; delete both and load again")
    arrays = read_npz(npz)
    check_structure(name, arrays, prov["variant"], str(npz))
    prov = {k: v for k, v in prov.items() if k not in ("cache_sha256", "cache_version")}
    return arrays, prov


def mirror_file(name: str, mirror=None) -> Path | None:
    mirror = mirror or os.environ.get(MIRROR_ENV)
    return Path(mirror) / f"{name}.npz" if mirror else None


def verify_mirror(name: str, path: Path) -> tuple[str, str]:
    """sha256 of a mirror file and the variant it is; refuses an unknown MNIST/Fashion-MNIST file."""
    if not path.exists():
        raise DataError(f"{path} does not exist; {MIRROR_ENV} must name a folder holding {name}.npz")
    digest = sha256(path)
    known = MIRROR_FILES.get(name, {})
    if digest in known:
        return digest, known[digest]
    if name != "cifar10":
        expected = ", ".join(known)
        raise DataError(f"checksum mismatch for {path}: expected sha256 {expected}, found {digest}")
    return digest, "complete"  # an unknown CIFAR-10 file must then pass the complete 5000/1000 counts


def load_from_mirror(name: str, path: Path) -> tuple[dict, dict]:
    digest, variant = verify_mirror(name, path)
    arrays = to_nchw(name, read_npz(path), str(path))
    check_structure(name, arrays, variant, str(path))
    return arrays, {"source": f"mirror:{path.name}", "sha256": digest, "variant": variant}


def load_from_torchvision(name: str, root) -> tuple[dict, dict]:
    import torchvision.datasets as tvd

    cls = {"mnist": tvd.MNIST, "fashion_mnist": tvd.FashionMNIST, "cifar10": tvd.CIFAR10}[name]
    arrays = {}
    try:
        for split, train in (("train", True), ("test", False)):
            ds = cls(str(root), train=train, download=True)
            x = ds.data.numpy() if torch.is_tensor(ds.data) else np.asarray(ds.data)
            arrays[f"x_{split}"], arrays[f"y_{split}"] = x, np.asarray(ds.targets)
    except Exception as e:  # torchvision raises URLError, RuntimeError, ... for a failed download
        raise DataError(
            f"could not download {DATASETS[name].title} with torchvision into {root} ({type(e).__name__}: {e}). "
            f"Fix: connect to the internet, or set {MIRROR_ENV} to a folder holding {name}.npz "
            f"(arrays x_train, y_train, x_test, y_test)") from e
    arrays = to_nchw(name, arrays, f"torchvision {cls.__name__}")
    check_structure(name, arrays, "complete", f"torchvision {cls.__name__}")
    return arrays, {"source": "torchvision", "sha256": "torchvision md5-checked archives", "variant": "complete"}


def load_dataset(name: str, root="data", *, mirror=None) -> Dataset:
    """The official train and test sets of ``name`` as uint8 (N, C, H, W) tensors, verified."""
    check_choice("dataset", name, tuple(DATASETS))
    cached = read_cache(name, root)
    if cached is None:
        path = mirror_file(name, mirror)
        arrays, prov = load_from_mirror(name, path) if path else load_from_torchvision(name, root)
        prov = {"dataset": name, **prov, "n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"])}
        write_cache(name, arrays, prov, root)
        cached = arrays, prov
    arrays, prov = cached
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    return Dataset(name, t["x_train"], t["y_train"], t["x_test"], t["y_test"], DATASETS[name].classes, prov)


def train_val_split(n: int, val_fraction: float = VAL_FRACTION, seed: int = SPLIT_SEED):
    """Fixed 90/10 split of the training set: (train indices, validation indices)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(n * val_fraction)
    return perm[n_val:], perm[:n_val]


def stratified_prefix(labels: torch.Tensor, n: int | None, seed: int = SPLIT_SEED) -> torch.Tensor:
    """Positions of the first ``n`` items of a fixed class-interleaved permutation (all if None).

    Items are ranked within their class in a seeded random order and taken rank by rank, so any
    prefix is as class-balanced as the data allows, and a larger n extends a smaller one.
    """
    if n is None or n >= len(labels):
        return torch.arange(len(labels))
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).numpy()
    lab = labels.numpy()[perm]
    rank = np.zeros(len(lab), dtype=np.int64)
    for c in np.unique(lab):
        where = lab == c
        rank[where] = np.arange(where.sum())
    order = np.lexsort((np.arange(len(lab)), rank))
    return torch.from_numpy(np.sort(perm[order[:n]]))


def status(root="data", mirror=None) -> list[dict]:
    """For each dataset: where it would come from and whether it verifies."""
    rows = []
    for name in DATASETS:
        row = {"dataset": name, "present": False, "source": "-", "verified": False, "detail": ""}
        try:
            cached = read_cache(name, root)
            if cached:
                row.update(present=True, source=f"cache ({cached[1]['source']})", verified=True,
                           detail=provenance_label(cached[1]))
            elif (path := mirror_file(name, mirror)) is not None and path.exists():
                digest, variant = verify_mirror(name, path)
                row.update(present=True, source=f"mirror {path}", verified=True,
                           detail=f"variant {variant}, sha256 {digest[:12]}…")
            else:
                row["detail"] = "not downloaded (python -m msvp data fetch %s)" % name
        except DataError as e:
            row.update(present=True, detail=str(e))
        rows.append(row)
    return rows

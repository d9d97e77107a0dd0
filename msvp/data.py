"""Real datasets as uint8 tensors: package cache -> offline mirror -> torchvision download.

Every source is verified before use (sha256 for known mirror files, then shapes, dtypes, exact
per-class counts and pixel statistics) and the result is cached once as an uncompressed ``.npz``
with its provenance.

Faults: every bad file (missing, unreadable, truncated, corrupt, degenerate, not the data set it
claims to be) is one ``DataError`` whose single line names the file and the fix. The cache is never
a dead end: one that fails its checksum or its checks is reported in one line and rebuilt from the
source. Processes that build the same cache at once (grid shards starting together) take turns
under a lock file; each writes a unique temporary file, fsyncs it and renames it into place, and
the cache bytes depend only on the arrays, so even without the lock a lost race leaves a cache
that verifies.
"""
from __future__ import annotations

import hashlib
import json
import logging
import lzma
import math
import os
import struct
import time
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .datasets import DATASETS, MIRROR_FILES, VARIANT_COUNTS
from .prompting import check_choice
from .store import atomic_file, write_atomic

MIRROR_ENV = "MSVP_DATA_MIRROR"
CACHE_VERSION = 1
KEYS = ("x_train", "y_train", "x_test", "y_test")
LOCK_TIMEOUT_S = 3600    # after this long waiting for another process's build, build without the lock
DATA_ROOT_ENV = "MSVP_DATA_ROOT"
# the checkout this package was imported from (None when installed from a wheel)
_CHECKOUT = Path(__file__).resolve().parents[1]
_CHECKOUT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


def resolve_data_root(root=None) -> Path:
    """The folder that holds the data caches: ``root`` when given, else ``$MSVP_DATA_ROOT``, else
    ``data/`` at the top of the checkout (of the working directory when msvp is installed as a wheel).
    The one default for every entry point, so a chapter run from book/ and the CLI run from the
    repository share one cache."""
    if root is not None and str(root) != "":
        return Path(root)
    if os.environ.get(DATA_ROOT_ENV):
        return Path(os.environ[DATA_ROOT_ENV])
    return (_CHECKOUT or Path.cwd()) / "data"


# Published per-channel mean and std of x/255 (shared/datasets/README.md measures the mirror files).
PIXEL_STATS = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}
# Broad bands: any real split (even a 50-image subset) is far inside them; blank, constant, inverted,
# binarised, noise or repeated images are far outside at least one.
STAT_FACTOR = 1.5           # each channel's mean and std within [ref / 1.5, ref * 1.5]
MIN_DISTINCT_VALUES = 64    # of the 256 pixel values (real splits use all 256)
MIN_NEIGHBOUR_CORR = 0.5    # correlation of horizontally adjacent pixels (real: 0.8-0.9; noise: 0)
MIN_DISTINCT_IMAGES = 0.9   # fraction of a split's images that are distinct (real: all)

log = logging.getLogger(__name__)

_CORRUPT = (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, zlib.error, lzma.LZMAError,
            NotImplementedError, struct.error)


def one_line(text) -> str:
    return " ".join(str(text).split())


class DataError(RuntimeError):
    """A data file is missing, corrupt or not the data set it claims to be (one line, with the fix)."""

    def __init__(self, problem, *, fix: str | None = None):
        self.problem, self.fix = one_line(problem), fix
        super().__init__(self.problem + (f"; fix: {fix}" if fix else ""))


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


def _hash_file(f) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 22), b""):
        h.update(chunk)
    return h.hexdigest()


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return _hash_file(f)


def os_reason(e: OSError) -> str:
    """A few words for an OS error."""
    if isinstance(e, PermissionError):
        return "permission denied"
    if isinstance(e, IsADirectoryError):
        return "it is a directory, not a file"
    if isinstance(e, FileNotFoundError):
        return "it does not exist"
    return f"{type(e).__name__}: {e.strerror or e}"


def os_problem(path, e: OSError) -> str:
    return f"cannot read {path}: {os_reason(e)}"


def os_fix(path, e: OSError, fix: str) -> str:
    return f"make it readable (chmod a+r {path}), or {fix}" if isinstance(e, PermissionError) else fix


def read_npz(path: Path, keys=KEYS, *, fileobj=None, fix: str = "delete it and fetch it again") -> dict:
    """Read arrays (from ``fileobj`` if given, else ``path``), turning an unreadable, truncated or corrupt
    archive into one clear DataError naming ``path`` and ``fix``."""
    try:
        if fileobj is None:
            with open(path, "rb") as f:
                return _read_npz(f, keys, path)
        return _read_npz(fileobj, keys, path)
    except DataError:
        raise
    except (PermissionError, IsADirectoryError, FileNotFoundError) as e:
        raise DataError(os_problem(path, e), fix=os_fix(path, e, fix)) from e
    except _CORRUPT as e:
        raise DataError(f"{path} is truncated or corrupt ({type(e).__name__}: {e})", fix=fix) from e


def _read_npz(f, keys, path) -> dict:
    npz = np.load(f, allow_pickle=False)
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError("a single .npy array, not an .npz archive")
    with npz:
        missing = [k for k in keys if k not in npz.files]
        if missing:
            raise DataError(f"{path}: missing arrays {missing}; expected {list(keys)}")
        return {k: npz[k] for k in keys}


def expected_counts(name: str, variant: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    spec = DATASETS[name]
    return VARIANT_COUNTS.get((name, variant), (spec.train_counts, spec.test_counts))


def to_nchw(name: str, arrays: dict, origin: str, fix: str | None = None) -> dict:
    """Mirror layout (N, H, W) or (N, H, W, C) -> (N, C, H, W) uint8 and int64 labels."""
    c, h, w = DATASETS[name].shape
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        want = (h, w) if c == 1 else (h, w, c)
        if x.dtype != np.uint8 or x.ndim != len(want) + 1 or tuple(x.shape[1:]) != want:
            raise DataError(f"{origin}: x_{split} is {x.dtype} {x.shape}, "
                            f"expected uint8 (N, {', '.join(map(str, want))})", fix=fix)
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{origin}: y_{split} is {y.dtype} {y.shape}, expected integer labels ({len(x)},)", fix=fix)
        out[f"x_{split}"] = x[:, None] if c == 1 else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        out[f"y_{split}"] = y.astype(np.int64)
    return out


def check_structure(name: str, arrays: dict, variant: str, origin: str, fix: str | None = None) -> None:
    """Shapes, dtypes, label range and exact per-class counts of the variant."""
    shape = DATASETS[name].shape
    for split, want in zip(("train", "test"), expected_counts(name, variant)):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or tuple(x.shape[1:]) != shape:
            raise DataError(f"{origin}: x_{split} is {x.dtype} {x.shape}, expected uint8 (N, {shape})", fix=fix)
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{origin}: y_{split} is {y.dtype} {y.shape}, expected integer labels ({len(x)},)", fix=fix)
        if y.min(initial=0) < 0 or y.max(initial=0) >= len(want):
            raise DataError(f"{origin}: y_{split} has labels outside 0..{len(want) - 1}", fix=fix)
        got = tuple(np.bincount(y.astype(np.int64), minlength=len(want)).tolist())
        if got != tuple(want):
            raise DataError(f"{origin}: {split} class counts {got} differ from the expected {tuple(want)} "
                            f"for {DATASETS[name].title} ({variant})", fix=fix)


def pixel_stats(x: np.ndarray) -> dict:
    """Of (N, C, H, W) uint8 images: per-channel mean and std of x/255, the number of distinct pixel
    values, the correlation of horizontally adjacent pixels (on up to 2000 images) and the fraction
    of distinct images."""
    n, c = x.shape[:2]
    hist = np.zeros((c, 256), np.int64)
    step = max(1, (1 << 22) // max(1, x[0, 0].size))            # ~4M pixels per bincount
    for i in range(0, n, step):
        for ch in range(c):
            hist[ch] += np.bincount(x[i:i + step, ch].ravel(), minlength=256)
    v = np.arange(256) / 255
    mean = hist @ v / hist.sum(1)
    std = np.sqrt(np.maximum(hist @ v**2 / hist.sum(1) - mean**2, 0))
    sample = x[np.unique(np.linspace(0, n - 1, min(n, 2000)).astype(np.int64))].astype(np.float32)
    a, b = sample[..., :-1].ravel(), sample[..., 1:].ravel()
    corr = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
    flat = np.ascontiguousarray(x.reshape(n, -1))
    distinct_images = len(np.unique(flat.view(np.dtype((np.void, flat.shape[1]))).ravel())) / n
    return {"mean": mean.tolist(), "std": std.tolist(), "distinct_values": int((hist.sum(0) > 0).sum()),
            "neighbour_corr": corr if math.isfinite(corr) else 0.0, "distinct_images": distinct_images}


def check_sanity(name: str, arrays: dict, origin: str, fix: str | None = None) -> None:
    """Refuse degenerate content (blank, constant, inverted, binarised, noise or repeated images) whose
    class counts may still be exactly right: each split's pixel statistics must lie in broad bands
    around the published ones."""
    ref_mean, ref_std = PIXEL_STATS[name]
    fmt = lambda vals: "(" + ", ".join(f"{v:.4f}" for v in vals) + ")"  # noqa: E731
    for split in ("train", "test"):
        x = arrays[f"x_{split}"]
        if len(x) == 0:
            continue
        s = pixel_stats(x)
        bad = []
        for what, got, ref in (("mean", s["mean"], ref_mean), ("std", s["std"], ref_std)):
            if any(not ref_c / STAT_FACTOR <= g <= ref_c * STAT_FACTOR for g, ref_c in zip(got, ref)):
                bad.append(f"per-channel {what} of x/255 {fmt(got)} is not within x{STAT_FACTOR:g} of {fmt(ref)}")
        if s["distinct_values"] < MIN_DISTINCT_VALUES:
            bad.append(f"only {s['distinct_values']} distinct pixel values (real data: 256)")
        if s["neighbour_corr"] < MIN_NEIGHBOUR_CORR:
            bad.append(f"adjacent-pixel correlation {s['neighbour_corr']:.2f} (real data: over 0.8)")
        if s["distinct_images"] < MIN_DISTINCT_IMAGES:
            bad.append(f"only {s['distinct_images']:.0%} of the images are distinct")
        if bad:
            raise DataError(f"{origin}: x_{split} is not real {DATASETS[name].title} images (degenerate content: "
                            + "; ".join(bad) + ")", fix=fix)


def verify_arrays(name: str, arrays: dict, variant: str, origin: str, fix: str | None = None) -> None:
    check_structure(name, arrays, variant, origin, fix)
    check_sanity(name, arrays, origin, fix)


# ---------------------------------------------------------------- the cache

def cache_paths(name: str, root) -> tuple[Path, Path]:
    base = Path(root) / "msvp-cache"
    return base / f"{name}.npz", base / f"{name}.json"


def _write_npz(f, arrays: dict) -> None:
    """Like np.savez, but the bytes depend only on the arrays (fixed member order and timestamps), so two
    processes caching the same data write identical files and either one's record matches either file."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for k in KEYS:
            info = zipfile.ZipInfo(f"{k}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            with z.open(info, "w", force_zip64=True) as m:
                np.lib.format.write_array(m, np.ascontiguousarray(arrays[k]), allow_pickle=False)


def write_cache(name: str, arrays: dict, prov: dict, root) -> None:
    """Write the arrays to a unique temporary file, fsync it and rename it over the cache, then the record
    (the commit point) the same way. Only verified arrays reach this point."""
    npz, meta = cache_paths(name, root)
    with atomic_file(npz, "w+b") as f:
        _write_npz(f, arrays)
        f.flush()
        f.seek(0)
        digest = _hash_file(f)  # our own unique temporary file: nobody else writes it
    write_atomic(meta, json.dumps({**prov, "cache_sha256": digest, "cache_version": CACHE_VERSION}, indent=1))


def read_cache(name: str, root) -> tuple[dict, dict] | None:
    """The cached arrays and provenance; None when there is no complete cache; DataError (one line) when
    the cache is unreadable, fails its checksum or its checks (load_dataset then rebuilds it)."""
    npz, meta = cache_paths(name, root)
    fix = f"nothing to do: the next load rebuilds it from the source (or delete {npz} and {meta})"
    try:
        if not (npz.exists() and meta.exists()):
            return None
        text = meta.read_text()
    except OSError as e:
        raise DataError(f"the cache record {meta} is unreadable ({os_reason(e)})", fix=fix) from e
    try:
        prov = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"the cache record {meta} is unreadable ({type(e).__name__}: {e})", fix=fix) from e
    fields = {"dataset": str, "source": str, "sha256": str, "variant": str, "n_train": int, "n_test": int,
              "cache_sha256": str}
    if (not isinstance(prov, dict) or prov.get("cache_version") != CACHE_VERSION or prov.get("dataset") != name
            or any(not isinstance(prov.get(k), t) for k, t in fields.items())
            or prov["variant"] != "complete" and (name, prov["variant"]) not in VARIANT_COUNTS):
        raise DataError(f"the cache record {meta} is not a version-{CACHE_VERSION} record of {name}", fix=fix)
    try:
        with open(npz, "rb") as f:  # hash and read the same open file, so a concurrent rename cannot swap it
            if _hash_file(f) != prov["cache_sha256"]:
                raise DataError(f"the cache {npz} does not match its record {meta} (sha256 differs)", fix=fix)
            f.seek(0)
            arrays = read_npz(npz, fileobj=f, fix=fix)
    except OSError as e:
        raise DataError(f"the cache {npz} is unreadable ({os_reason(e)})", fix=fix) from e
    verify_arrays(name, arrays, prov["variant"], f"the cache {npz}", fix)
    prov = {k: v for k, v in prov.items() if k not in ("cache_sha256", "cache_version")}
    return arrays, prov


@contextmanager
def cache_lock(name: str, root, timeout: float = LOCK_TIMEOUT_S):
    """Hold <root>/msvp-cache/<name>.lock (flock) while building, so processes starting together build
    once and the others read the winner's cache. Without the lock (no fcntl, read-only root, no flock,
    timeout) building is still safe, only duplicated."""
    path = cache_paths(name, root)[0].with_suffix(".lock")
    try:
        import fcntl
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "ab")
    except (ImportError, OSError):
        f = None
    if f is None:
        yield
        return
    with f:
        locked, deadline = False, time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    log.warning("%s: still held by another process after %.0f s; building without it", path, timeout)
                    break
                time.sleep(0.05)
            except OSError:  # a file system without flock
                break
        try:
            yield
        finally:
            if locked:
                fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------- the sources

def mirror_file(name: str, mirror=None) -> Path | None:
    mirror = mirror or os.environ.get(MIRROR_ENV)
    return Path(mirror) / f"{name}.npz" if mirror else None


def mirror_fix(path: Path) -> str:
    return (f"replace {path} with a good copy (the mirror's README.md lists each file's sha256), "
            f"or unset {MIRROR_ENV} to download it with torchvision")


def verify_mirror(name: str, path: Path) -> tuple[str, str]:
    """sha256 of a mirror file and the variant it is ("complete" for an unknown file, which must then pass
    the complete set's counts and the pixel checks)."""
    try:
        if not path.exists():
            raise DataError(f"{path} does not exist; {MIRROR_ENV} must name a folder holding {name}.npz")
        digest = sha256(path)
    except OSError as e:
        raise DataError(os_problem(path, e), fix=os_fix(path, e, mirror_fix(path))) from e
    return digest, MIRROR_FILES.get(name, {}).get(digest, "complete")


def load_from_mirror(name: str, path: Path, *, warn: bool = True) -> tuple[dict, dict]:
    digest, variant = verify_mirror(name, path)
    known = MIRROR_FILES.get(name, {})
    fix = mirror_fix(path)
    try:
        arrays = to_nchw(name, read_npz(path, fix=fix), str(path), fix)
        verify_arrays(name, arrays, variant, str(path), fix)
    except DataError as e:
        if digest in known:
            raise
        reason = e.problem
        if reason.startswith(f"{path}: "):
            reason = reason[len(f"{path}: "):]
        elif reason.startswith(f"{path} "):
            reason = "it" + reason[len(str(path)):]
        raise DataError(f"checksum mismatch for {path}: expected sha256 {', '.join(known)}, found {digest}, and as "
                        f"an unknown file it does not verify: {reason}", fix=e.fix or fix) from e
    if digest not in known and warn:
        log.warning("%s is not a known copy of %s (sha256 %s); accepted because its structure, class counts and "
                    "pixel statistics check out", path, DATASETS[name].title, digest)
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
    origin = f"torchvision {cls.__name__} in {root}"
    fix = f"delete torchvision's {cls.__name__} files in {root} and load again"
    arrays = to_nchw(name, arrays, origin, fix)
    verify_arrays(name, arrays, "complete", origin, fix)
    return arrays, {"source": "torchvision", "sha256": "torchvision md5-checked archives", "variant": "complete"}


def _try_cache(name: str, root):
    """(cached or None, the DataError that made the cache unusable or None)."""
    try:
        return read_cache(name, root), None
    except DataError as e:
        return None, e


def build(name: str, root, mirror=None, problem: DataError | None = None) -> tuple[dict, dict]:
    """Arrays and provenance from the mirror or torchvision, verified and cached. ``problem`` is why the
    existing cache could not be used: reported in one line, and the cache is rebuilt over it."""
    path = mirror_file(name, mirror)
    source = str(path) if path else "torchvision"
    if problem is not None:
        log.warning("%s; rebuilding it from %s", problem.problem, source)
    try:
        arrays, prov = load_from_mirror(name, path) if path else load_from_torchvision(name, root)
    except DataError as e:
        if problem is None:
            raise
        raise DataError(f"{e.problem} (while rebuilding the cache, which was unusable: {problem.problem})",
                        fix=e.fix) from e
    prov = {"dataset": name, **prov, "n_train": len(arrays["y_train"]), "n_test": len(arrays["y_test"])}
    try:
        write_cache(name, arrays, prov, root)
    except OSError as e:  # the data are verified; only the shortcut for next time is lost
        log.warning("could not write the data cache in %s (%s: %s); using the verified data without it, "
                    "so the next load reads %s again", Path(root) / "msvp-cache", type(e).__name__, e, source)
    return arrays, prov


def load_dataset(name: str, root=None, *, mirror=None) -> Dataset:
    """The official train and test sets of ``name`` as uint8 (N, C, H, W) tensors, verified.
    ``root``: the data folder (default: :func:`resolve_data_root`)."""
    check_choice("dataset", name, tuple(DATASETS))
    root = resolve_data_root(root)
    cached, problem = _try_cache(name, root)
    if cached is None:
        with cache_lock(name, root):
            cached, problem = _try_cache(name, root)  # another process may have built it meanwhile: use theirs
            if cached is None:
                cached = build(name, root, mirror, problem)
    arrays, prov = cached
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    return Dataset(name, t["x_train"], t["y_train"], t["x_test"], t["y_test"], DATASETS[name].classes, prov)


def _status_row(name: str, root, mirror) -> dict:
    path = mirror_file(name, mirror)
    try:
        cached = read_cache(name, root)
    except DataError as e:
        source = path or "torchvision"
        return dict(present=True, source="cache", detail=f"{e.problem}; the next load rebuilds it from {source}")
    if cached:
        return dict(present=True, source=f"cache ({cached[1]['source']})", verified=True,
                    detail=provenance_label(cached[1]))
    if path is not None and path.exists():
        digest, variant = verify_mirror(name, path)
        if digest in MIRROR_FILES.get(name, {}):
            return dict(present=True, source=f"mirror {path}", verified=True,
                        detail=f"variant {variant}, sha256 {digest[:12]}…")
        load_from_mirror(name, path, warn=False)  # an unknown file: the full checks a load would make
        return dict(present=True, source=f"mirror {path}", verified=True,
                    detail=f"variant {variant}, unknown sha256 {digest} (structure, counts and pixels check out)")
    return dict(detail=f"not downloaded (python -m msvp data fetch {name})")


def status(root=None, mirror=None) -> list[dict]:
    """For each dataset: where it would come from and whether it verifies. Never raises: any fault is a
    row with present=True, verified=False and its one-line reason (the CLI prints it as PROBLEM)."""
    root, rows = resolve_data_root(root), []
    for name in DATASETS:
        row = {"dataset": name, "present": False, "source": "-", "verified": False, "detail": ""}
        try:
            row.update(_status_row(name, root, mirror))
        except Exception as e:  # noqa: BLE001 - status reports every fault instead of raising
            row.update(present=True, verified=False,
                       detail=str(e) if isinstance(e, DataError) else one_line(f"{type(e).__name__}: {e}"))
        rows.append(row)
    return rows

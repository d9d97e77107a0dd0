"""The data layer (design §7): real MNIST/Fashion-MNIST through the mirror, refusal of bad files,
the torchvision path (CIFAR-10 end to end on files written here), the split and the subsets."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import msvp.datasets
from msvp.data import MIRROR_ENV, DataError, cache_paths, load_dataset, read_cache, read_npz, status
from msvp.datasets import DATASETS, MIRROR_FILES
from msvp.splits import stratified_prefix, train_val_split

KNOWN = {"mnist": "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
         "fashion_mnist": "5b6d2c4c694a91887af8ab7d039c04f80af3c29378d731c93a538d2e831aa469"}
SMALL = dict(train_counts=(5,) * 10, test_counts=(2,) * 10)  # a 50/20-image CIFAR-10 stand-in


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(path: Path):
    return sha(path), path.stat().st_mtime_ns


def cache_files(root: Path) -> list[str]:
    """What a load left in <root>/msvp-cache, besides the lock files that serialise builds."""
    base = Path(root) / "msvp-cache"
    return sorted(p.name for p in base.iterdir() if p.suffix != ".lock") if base.exists() else []


def no_network(monkeypatch):
    """Any download attempt fails as it would offline."""
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def fake_cifar(train_counts=(5,) * 10, test_counts=(2,) * 10, seed=0) -> dict:
    """CIFAR-like arrays in mirror layout: HWC uint8 images (smooth, so they compress), int64 labels."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, counts in (("train", train_counts), ("test", test_counts)):
        y = np.concatenate([np.full(n, c, dtype=np.int64) for c, n in enumerate(counts)])
        y = y[rng.permutation(len(y))]
        ramp = np.arange(32, dtype=np.int64)
        base = (ramp[:, None, None] * 3 + ramp[None, :, None] * 5 + np.array([0, 60, 120])) % 256
        x = (base[None] + rng.integers(0, 8, (len(y), 32, 32, 3))) % 256
        out[f"x_{split}"], out[f"y_{split}"] = x.astype(np.uint8), y
    return out


def write_npz(path: Path, arrays: dict, compression=zipfile.ZIP_DEFLATED) -> Path:
    """An .npz written member by member, with deflate (numpy's default) or LZMA (like the mirror)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for k, v in arrays.items():
            buf = io.BytesIO()
            np.save(buf, v)
            z.writestr(f"{k}.npy", buf.getvalue())
    return path


def small_cifar_spec(monkeypatch):
    monkeypatch.setitem(msvp.datasets.DATASETS, "cifar10", dataclasses.replace(DATASETS["cifar10"], **SMALL))


# ---------------------------------------------------------------- real data through the mirror

@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_real_dataset_shapes_counts_range(name, request, data_source):
    """Real MNIST/Fashion-MNIST: (60000|10000, 1, 28, 28) uint8, int64 labels, exact class counts,
    pixels 0..255 reaching 255, and a provenance naming the verified mirror file (or torchvision)."""
    ds = request.getfixturevalue("mnist" if name == "mnist" else "fashion")
    spec = DATASETS[name]
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert ds.x_train.dtype == ds.x_test.dtype == torch.uint8
    assert ds.y_train.dtype == ds.y_test.dtype == torch.int64
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert tuple(torch.bincount(ds.y_train, minlength=10).tolist()) == spec.train_counts
    assert tuple(torch.bincount(ds.y_test, minlength=10).tolist()) == spec.test_counts
    for x in (ds.x_train, ds.x_test):
        assert x.min().item() == 0 and x.max().item() == 255
    assert ds.classes == spec.classes
    source = ({"source": f"mirror:{name}.npz", "sha256": KNOWN[name]} if data_source is not None
              else {"source": "torchvision", "sha256": "torchvision md5-checked archives"})
    assert ds.provenance == {"dataset": name, **source, "variant": "complete", "n_train": 60000, "n_test": 10000}
    assert ds.label == f"{spec.title} (complete, 60,000 train / 10,000 test)"


def test_mnist_matches_published_facts(mnist):
    """Cross-check against the mirror README: first labels and the usual 0.1307 pixel mean."""
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert abs(mnist.x_train.float().mean().item() / 255 - 0.130660) < 1e-5


def test_cache_is_reused_without_the_mirror(data_root, mnist, tmp_path):
    """Once cached, the data load from <root>/msvp-cache even when the mirror is gone."""
    npz, meta = cache_paths("mnist", data_root)
    assert npz.is_file() and meta.is_file()
    before = snapshot(npz)
    again = load_dataset("mnist", data_root, mirror=tmp_path / "no-such-mirror")
    assert torch.equal(again.x_train, mnist.x_train) and torch.equal(again.y_test, mnist.y_test)
    assert again.provenance == mnist.provenance
    assert snapshot(npz) == before


def test_status_reports_cached_and_verified(data_root, mnist):
    """`status` sees the verified MNIST cache and labels it."""
    row = next(r for r in status(data_root, mirror=None) if r["dataset"] == "mnist")
    assert row["present"] and row["verified"]
    assert row["detail"] == mnist.label


# ---------------------------------------------------------------- refusing bad mirror files

def altered_copy(src: Path, mirror: Path, name="mnist") -> Path:
    """A copy of a real mirror file with one byte changed in the middle (inside the compressed images, so
    the copy is not just unknown but broken: an unknown file that reads and verifies would be accepted)."""
    mirror.mkdir(parents=True, exist_ok=True)
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dst = mirror / f"{name}.npz"
    dst.write_bytes(bytes(data))
    return dst


def test_wrong_hash_is_refused_with_names_and_hashes(mirror_dir, tmp_path):
    """A mirror file whose sha256 is not the known one: DataError naming file, expected and found hash;
    and nothing is cached."""
    bad = altered_copy(mirror_dir / "mnist.npz", tmp_path / "mirror")
    root = tmp_path / "root"
    with pytest.raises(DataError) as e:
        load_dataset("mnist", root, mirror=tmp_path / "mirror")
    msg = str(e.value)
    assert str(bad) in msg
    assert KNOWN["mnist"] in msg and sha(bad) in msg
    assert "mismatch" in msg and "\n" not in msg
    assert cache_files(root) == []


def test_truncated_known_file_is_refused(mirror_dir, tmp_path):
    """A truncated MNIST mirror file fails its checksum: a DataError, not a numpy traceback."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "mnist.npz").write_bytes((mirror_dir / "mnist.npz").read_bytes()[: 5_000_000])
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("mnist", tmp_path / "root", mirror=mirror)


def test_read_npz_truncated_is_clear_dataerror(mirror_dir, tmp_path):
    """read_npz on a truncated archive: one DataError saying 'truncated or corrupt', with the path."""
    path = tmp_path / "half.npz"
    path.write_bytes((mirror_dir / "mnist.npz").read_bytes()[: 5_000_000])
    with pytest.raises(DataError, match="truncated or corrupt") as e:
        read_npz(path)
    assert str(path) in str(e.value)


def test_read_npz_missing_arrays(tmp_path):
    """An archive without the four arrays is refused, naming what is missing."""
    path = write_npz(tmp_path / "x.npz", {"x_train": np.zeros((1, 28, 28), np.uint8)})
    with pytest.raises(DataError, match="missing arrays"):
        read_npz(path)


def test_bad_mirror_never_touches_a_good_cache(data_root, mirror_dir, tmp_path):
    """A good cache wins over a bad mirror, and when the loader must fall back to the bad mirror
    (cache record gone) the failure leaves the cached arrays byte-for-byte and mtime unchanged."""
    root = tmp_path / "root"
    src_npz, src_meta = cache_paths("mnist", data_root)
    npz, meta = cache_paths("mnist", root)
    npz.parent.mkdir(parents=True)
    shutil.copy2(src_npz, npz)
    shutil.copy2(src_meta, meta)
    before = snapshot(npz), snapshot(meta)
    altered_copy(mirror_dir / "mnist.npz", tmp_path / "mirror")

    ds = load_dataset("mnist", root, mirror=tmp_path / "mirror")  # the cache is used, mirror untouched
    assert ds.provenance["sha256"] == KNOWN["mnist"]
    assert (snapshot(npz), snapshot(meta)) == before

    meta.unlink()  # now the loader has to go to the mirror, which is bad
    with pytest.raises(DataError, match="checksum mismatch"):
        load_dataset("mnist", root, mirror=tmp_path / "mirror")
    assert snapshot(npz) == before[0]
    assert not meta.exists()
    assert cache_files(root) == ["mnist.npz"]  # no temp files left


def test_cache_not_matching_its_record_is_rebuilt(data_root, mirror_dir, tmp_path, caplog):
    """A cache whose bytes differ from the sha256 in its record is never used: the load reports it in one
    line and rebuilds it from the mirror, after which the cache verifies again (no dead end)."""
    root = tmp_path / "root"
    npz, meta = cache_paths("mnist", root)
    npz.parent.mkdir(parents=True)
    shutil.copy2(cache_paths("mnist", data_root)[1], meta)
    data = bytearray(cache_paths("mnist", data_root)[0].read_bytes())
    data[len(data) // 2] ^= 1
    npz.write_bytes(bytes(data))
    with caplog.at_level("WARNING", logger="msvp.data"):
        ds = load_dataset("mnist", root, mirror=mirror_dir)
    [warning] = [r.getMessage() for r in caplog.records if r.name == "msvp.data"]
    assert "does not match its record" in warning and str(npz) in warning and "rebuilding" in warning
    assert "\n" not in warning
    assert ds.provenance["sha256"] == KNOWN["mnist"]
    assert read_cache("mnist", root) is not None
    assert sha(npz) == sha(cache_paths("mnist", data_root)[0])  # the cache bytes depend only on the arrays


def test_missing_mirror_file_is_clear(tmp_path, monkeypatch):
    """MSVP_DATA_MIRROR naming a folder without the file: DataError naming the file and the variable."""
    empty = tmp_path / "mirror"
    empty.mkdir()
    monkeypatch.setenv(MIRROR_ENV, str(empty))
    with pytest.raises(DataError) as e:
        load_dataset("mnist", tmp_path / "root")
    assert str(empty / "mnist.npz") in str(e.value) and MIRROR_ENV in str(e.value)


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="valid choices: 'mnist', 'fashion_mnist', 'cifar10'"):
        load_dataset("svhn", "unused")


# ---------------------------------------------------------------- torchvision path

def test_failed_download_names_internet_and_mirror(tmp_path, monkeypatch):
    """Offline with no mirror: the torchvision download fails and the DataError says how to fix it."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    no_network(monkeypatch)
    root = tmp_path / "root"
    with pytest.raises(DataError) as e:
        load_dataset("mnist", root)
    msg = str(e.value)
    assert "internet" in msg and MIRROR_ENV in msg and "mnist.npz" in msg
    assert cache_files(root) == []


def write_cifar_batches(root: Path, arrays: dict) -> dict:
    """torchvision's cifar-10-batches-py: pickles of {'data': (N, 3072) uint8 CHW rows, 'labels': [...]}
    (str keys, as torchvision's latin1 unpickling of the original Python 2 files yields).
    Returns {file name: md5}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rows = {s: arrays[f"x_{s}"].transpose(0, 3, 1, 2).reshape(len(arrays[f"x_{s}"]), -1) for s in ("train", "test")}
    parts = np.array_split(np.arange(len(rows["train"])), 5)
    files = {f"data_batch_{i + 1}": (rows["train"][p], arrays["y_train"][p]) for i, p in enumerate(parts)}
    files["test_batch"] = (rows["test"], arrays["y_test"])
    md5 = {}
    for fname, (data, labels) in files.items():
        (folder / fname).write_bytes(pickle.dumps({"batch_label": fname, "data": np.ascontiguousarray(data),
                                                   "labels": [int(v) for v in labels]}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": list(DATASETS["cifar10"].classes)}))
    for f in folder.iterdir():
        md5[f.name] = hashlib.md5(f.read_bytes()).hexdigest()
    return md5


def point_torchvision_at(monkeypatch, md5: dict):
    """Make torchvision's own md5 integrity checks expect the files written here."""
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                              "md5": md5["batches.meta"]})


def test_cifar10_via_torchvision_end_to_end(tmp_path, monkeypatch):
    """CIFAR-10 through torchvision (download=True finds verified files, no network): (N, 3, 32, 32)
    uint8 in CHW with exactly the pixels written, labels in order, cached with its provenance."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    no_network(monkeypatch)
    small_cifar_spec(monkeypatch)
    arrays = fake_cifar(seed=1)
    root = tmp_path / "root"
    point_torchvision_at(monkeypatch, write_cifar_batches(root, arrays))
    ds = load_dataset("cifar10", root)
    assert ds.x_train.shape == (50, 3, 32, 32) and ds.x_test.shape == (20, 3, 32, 32)
    assert ds.x_train.dtype == torch.uint8 and ds.y_train.dtype == torch.int64
    assert torch.equal(ds.x_train, torch.from_numpy(arrays["x_train"]).permute(0, 3, 1, 2))
    assert torch.equal(ds.x_test, torch.from_numpy(arrays["x_test"]).permute(0, 3, 1, 2))
    assert ds.y_train.tolist() == arrays["y_train"].tolist() and ds.y_test.tolist() == arrays["y_test"].tolist()
    assert ds.provenance["source"] == "torchvision" and ds.provenance["variant"] == "complete"
    assert ds.label == "CIFAR-10 (complete, 50 train / 20 test)"
    assert cache_paths("cifar10", root)[0].is_file()
    # served from the cache the second time, even with torchvision's files gone
    shutil.rmtree(root / "cifar-10-batches-py")
    assert torch.equal(load_dataset("cifar10", root).x_train, ds.x_train)


def test_cifar10_torchvision_wrong_counts_refused(tmp_path, monkeypatch):
    """torchvision data whose class counts are not the complete CIFAR-10's are refused."""
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    no_network(monkeypatch)
    root = tmp_path / "root"
    point_torchvision_at(monkeypatch, write_cifar_batches(root, fake_cifar(seed=2)))
    with pytest.raises(DataError, match="class counts"):
        load_dataset("cifar10", root)  # real spec: 5000 per class expected
    assert cache_files(root) == []


def test_cifar10_unknown_mirror_file_checked_against_complete_counts(tmp_path):
    """A cifar10.npz with an unknown sha256 is only accepted as the complete set: counts must match."""
    mirror = tmp_path / "mirror"
    path = write_npz(mirror / "cifar10.npz", fake_cifar(seed=3))
    assert sha(path) not in MIRROR_FILES["cifar10"]
    with pytest.raises(DataError, match=r"class counts .* differ from the expected \(5000, 5000"):
        load_dataset("cifar10", tmp_path / "root", mirror=mirror)
    assert cache_files(tmp_path / "root") == []


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA], ids=["deflate", "lzma"])
def test_cifar10_unknown_mirror_file_with_matching_counts(tmp_path, monkeypatch, compression):
    """...and accepted (HWC -> CHW, labels int64, provenance with its sha256) when the counts match."""
    small_cifar_spec(monkeypatch)
    arrays = fake_cifar(seed=4)
    arrays["y_train"] = arrays["y_train"].astype(np.int32)  # any integer labels are accepted
    path = write_npz(tmp_path / "mirror" / "cifar10.npz", arrays, compression)
    ds = load_dataset("cifar10", tmp_path / "root", mirror=tmp_path / "mirror")
    assert ds.x_train.shape == (50, 3, 32, 32) and ds.y_train.dtype == torch.int64
    assert torch.equal(ds.x_train, torch.from_numpy(arrays["x_train"]).permute(0, 3, 1, 2))
    assert ds.provenance == {"dataset": "cifar10", "source": "mirror:cifar10.npz", "sha256": sha(path),
                             "variant": "complete", "n_train": 50, "n_test": 20}


def test_cifar10_truncated_mirror_file_is_clear(tmp_path, monkeypatch):
    """A truncated unknown-hash CIFAR-10 file (no checksum to catch it): DataError, not BadZipFile."""
    small_cifar_spec(monkeypatch)
    path = write_npz(tmp_path / "mirror" / "cifar10.npz", fake_cifar(seed=5))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset("cifar10", tmp_path / "root", mirror=tmp_path / "mirror")


def corrupt_member(path: Path, member: str = "x_train.npy") -> None:
    """Overwrite 16 bytes at the start of one member's compressed stream (the CRC is left as is)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    data = bytearray(path.read_bytes())
    off = info.header_offset
    start = off + 30 + int.from_bytes(data[off + 26:off + 28], "little") + int.from_bytes(data[off + 28:off + 30], "little")
    for i in range(start + 4, start + 20):
        data[i] ^= 0xA5
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_LZMA], ids=["deflate", "lzma"])
def test_corrupt_compressed_member_is_dataerror(tmp_path, monkeypatch, compression):
    """read_npz promises one clear DataError for a corrupt archive. Garbage inside a compressed member
    makes zlib / lzma raise their own errors (zlib.error, lzma.LZMAError), which must be wrapped too:
    an unknown-hash CIFAR-10 file has no checksum to stop it earlier (the real mirror file is LZMA)."""
    small_cifar_spec(monkeypatch)
    path = write_npz(tmp_path / "mirror" / "cifar10.npz", fake_cifar(seed=6), compression)
    corrupt_member(path)
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_dataset("cifar10", tmp_path / "root", mirror=tmp_path / "mirror")
    assert cache_files(tmp_path / "root") == []


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_real_cifar10_offline_copy(mirror_dir, tmp_path):
    """The real near-complete CIFAR-10 mirror file is the known 'offline-copy' variant, labelled with its
    image counts (slow: ~20 s of LZMA; run with MSVP_RUN_SLOW=1)."""
    if not (mirror_dir / "cifar10.npz").is_file():
        pytest.fail(f"{mirror_dir} has no cifar10.npz", pytrace=False)
    ds = load_dataset("cifar10", tmp_path, mirror=mirror_dir)
    assert ds.provenance["variant"] == "offline-copy"
    assert ds.x_train.shape == (49914, 3, 32, 32) and ds.x_test.shape == (9975, 3, 32, 32)
    assert torch.bincount(ds.y_train, minlength=10).tolist() == [5000] * 7 + [4995, 4919, 5000]
    assert torch.bincount(ds.y_test, minlength=10).tolist() == [1000] * 7 + [999, 976, 1000]
    assert ds.label == "CIFAR-10 (offline copy, 49,914 train / 9,975 test)"
    assert ds.x_train[0, :, 0, 0].tolist() == [59, 62, 63]  # README: pixel (0, 0) of image 0


# ---------------------------------------------------------------- split and subsets

@pytest.mark.parametrize("n,n_train,n_val", [(60000, 54000, 6000), (50000, 45000, 5000)])
def test_train_val_split(n, n_train, n_val):
    """Fixed 90/10 split: the right sizes, disjoint, covering everything, the same every call."""
    tr, va = train_val_split(n)
    assert len(tr) == n_train and len(va) == n_val
    assert torch.equal(torch.sort(torch.cat([tr, va])).values, torch.arange(n))
    tr2, va2 = train_val_split(n)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    assert not torch.equal(va, train_val_split(n, seed=7)[1])
    assert not torch.equal(va, torch.arange(n)[-n_val:])  # shuffled, not the last 10%


def test_stratified_prefix_balanced_prefix_deterministic(mnist):
    """Subsets are class-balanced, a larger n extends a smaller one, and the choice is fixed."""
    y = mnist.y_train
    p100, p200, p105 = (stratified_prefix(y, n) for n in (100, 200, 105))
    assert len(p100) == 100 and len(p200) == 200 and len(p105) == 105
    assert torch.bincount(y[p100], minlength=10).tolist() == [10] * 10
    assert torch.bincount(y[p200], minlength=10).tolist() == [20] * 10
    c105 = torch.bincount(y[p105], minlength=10)
    assert c105.max() - c105.min() <= 1
    assert set(p100.tolist()) <= set(p105.tolist()) <= set(p200.tolist())
    assert len(set(p200.tolist())) == 200 and torch.equal(p200, torch.sort(p200).values)
    assert torch.equal(p100, stratified_prefix(y, 100))
    assert not torch.equal(p100, stratified_prefix(y, 100, seed=1))
    assert torch.equal(stratified_prefix(y, None), torch.arange(len(y)))
    assert torch.equal(stratified_prefix(y, 10**9), torch.arange(len(y)))


def test_stratified_prefix_with_a_rare_class():
    """A class with fewer items than its share is taken whole; the rest stay balanced."""
    y = torch.tensor([0] * 50 + [1] * 50 + [2] * 3)
    p = stratified_prefix(y, 30)
    assert torch.bincount(y[p], minlength=3).tolist() == [14, 13, 3] or \
        torch.bincount(y[p], minlength=3).tolist() == [13, 14, 3]


def test_garbled_cache_record_is_reported_then_rebuilt(data_root, mirror_dir, tmp_path):
    """A truncated cache record (msvp-cache/<name>.json) is a one-line PROBLEM in `status` (not a bare
    json.JSONDecodeError that crashes `python -m msvp data status`), and the next load rebuilds it."""
    root = tmp_path / "root"
    npz, meta = cache_paths("mnist", root)
    npz.parent.mkdir(parents=True)
    shutil.copy2(cache_paths("mnist", data_root)[0], npz)
    meta.write_text(cache_paths("mnist", data_root)[1].read_text()[:20])
    row = next(r for r in status(root, mirror=mirror_dir) if r["dataset"] == "mnist")
    assert row["present"] and not row["verified"]
    assert str(meta) in row["detail"] and "unreadable" in row["detail"] and "\n" not in row["detail"]
    assert load_dataset("mnist", root, mirror=mirror_dir).provenance["sha256"] == KNOWN["mnist"]
    row = next(r for r in status(root, mirror=mirror_dir) if r["dataset"] == "mnist")
    assert row["verified"] and row["source"] == "cache (mirror:mnist.npz)"

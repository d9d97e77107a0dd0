"""Shared fixtures: real MNIST / Fashion-MNIST loaded once per session through the offline mirror.

Real-data tests read MSVP_DATA_MIRROR (.ci/run sets it when ../shared/datasets exists). Without a
mirror they FAIL with a message instead of skipping, so a mis-configured CI can never pass by silently
testing nothing, unless MSVP_DATA_DOWNLOAD=1 says so on purpose (GitHub's CI, which has no mirror):
then the data come from torchvision's verified downloads in the repository's data/, and only the
checks of the mirror's own files are skipped, each with its reason.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

from msvp.data import MIRROR_ENV, cache_paths, load_dataset

ROOT = Path(__file__).resolve().parents[1]
# the book layer (book/_lib) is imported as `_lib`, as the chapters do from their working directory
sys.path.insert(0, str(ROOT / "book"))
DOWNLOAD_ENV = "MSVP_DATA_DOWNLOAD"


def download_mode() -> bool:
    """No mirror, and the caller asked for torchvision's downloads instead (.github/workflows/ci.yml)."""
    return not os.environ.get(MIRROR_ENV) and os.environ.get(DOWNLOAD_ENV) == "1"

# One intra-op thread: on a shared 2-core machine, OpenMP threads fighting a background job make
# tiny convolutions 10-50x slower. One thread also keeps CPU results bit-reproducible.
torch.set_num_threads(int(os.environ.get("MSVP_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The offline data mirror named by MSVP_DATA_MIRROR; fails loudly when it is not set."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        if download_mode():
            pytest.skip(f"checks the offline mirror's own files; {DOWNLOAD_ENV}=1 without {MIRROR_ENV} "
                        "tests torchvision's downloads instead")
        pytest.fail(f"{MIRROR_ENV} is not set: real-data tests need a folder holding mnist.npz and "
                    f"fashion_mnist.npz (data/README.md), or {DOWNLOAD_ENV}=1 to download them with "
                    "torchvision", pytrace=False)
    path = Path(value)
    missing = [f for f in ("mnist.npz", "fashion_mnist.npz") if not (path / f).is_file()]
    if missing:
        pytest.fail(f"{MIRROR_ENV}={value} lacks {missing}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def data_source(request) -> Path | None:
    """Where the real data come from: the mirror folder, or None for torchvision (download mode)."""
    return None if download_mode() else request.getfixturevalue("mirror_dir")


@pytest.fixture(scope="session")
def data_root(tmp_path_factory, data_source) -> Path:
    """A session data root (never written through the repo's data/) whose msvp-cache holds verified
    MNIST and Fashion-MNIST."""
    root = tmp_path_factory.mktemp("data")
    if data_source is not None:
        load_dataset("mnist", root, mirror=data_source)
        return root
    # download mode: torchvision's files stay in data/ (GitHub caches that folder); the tests get a
    # copy of the verified caches, so none of them writes into the repository
    for name in ("mnist", "fashion_mnist"):
        load_dataset(name, ROOT / "data")
        for src, dst in zip(cache_paths(name, ROOT / "data"), cache_paths(name, root)):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return root


@pytest.fixture(scope="session")
def mnist(data_root, data_source):
    return load_dataset("mnist", data_root, mirror=data_source)


@pytest.fixture(scope="session")
def fashion(data_root, data_source):
    return load_dataset("fashion_mnist", data_root, mirror=data_source)


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (real CIFAR-10: ~20 s of LZMA) run only with MSVP_RUN_SLOW=1; the skip is
    reported with its reason, never silent."""
    if os.environ.get("MSVP_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow (real CIFAR-10 through the mirror): set MSVP_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

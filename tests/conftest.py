"""Shared fixtures: real MNIST / Fashion-MNIST loaded once per session through the offline mirror.

Real-data tests need MSVP_DATA_MIRROR (CI sets it). Without it they FAIL with a message instead of
skipping, so a mis-configured CI can never pass by silently testing nothing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from msvp.data import MIRROR_ENV, load_dataset

# One intra-op thread: on a shared 2-core machine, OpenMP threads fighting a background job make
# tiny convolutions 10-50x slower. One thread also keeps CPU results bit-reproducible.
torch.set_num_threads(int(os.environ.get("MSVP_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The offline data mirror named by MSVP_DATA_MIRROR; fails loudly when it is not set."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        pytest.fail(f"{MIRROR_ENV} is not set: real-data tests need the offline mirror "
                    f"(e.g. {MIRROR_ENV}=/work/shared/datasets, holding mnist.npz and fashion_mnist.npz)",
                    pytrace=False)
    path = Path(value)
    missing = [f for f in ("mnist.npz", "fashion_mnist.npz") if not (path / f).is_file()]
    if missing:
        pytest.fail(f"{MIRROR_ENV}={value} lacks {missing}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def data_root(tmp_path_factory, mirror_dir) -> Path:
    """A session data root (never the repo's data/) whose msvp-cache holds verified MNIST."""
    root = tmp_path_factory.mktemp("data")
    load_dataset("mnist", root, mirror=mirror_dir)
    return root


@pytest.fixture(scope="session")
def mnist(data_root, mirror_dir):
    return load_dataset("mnist", data_root, mirror=mirror_dir)


@pytest.fixture(scope="session")
def fashion(data_root, mirror_dir):
    return load_dataset("fashion_mnist", data_root, mirror=mirror_dir)


def pytest_collection_modifyitems(config, items):
    """Tests marked slow (real CIFAR-10: ~20 s of LZMA) run only with MSVP_RUN_SLOW=1; the skip is
    reported with its reason, never silent."""
    if os.environ.get("MSVP_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow (real CIFAR-10 through the mirror): set MSVP_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

"""Atomic file writes: a reader never sees half a file, and an interrupted write loses nothing.

Every file this package writes for others to read (results, checkpoints, data caches, reports) goes
through :func:`atomic_file`: a unique temporary file beside the target (so two processes writing the
same path never share one), fsynced, then renamed over the target in one step.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path, mode: str = "w"):
    """Yield an open temporary file; when the block ends without an error it replaces ``path``,
    otherwise it is deleted and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path, text: str) -> None:
    with atomic_file(path) as f:
        f.write(text)

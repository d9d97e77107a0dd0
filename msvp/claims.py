"""Which worker trains which run: a claim is an exclusive lock on a file beside the result.

``flock`` locks belong to the process: the kernel drops them when a worker exits or is killed, so a
dead worker's claim is simply free for the next one (no heartbeats, no guessing from timestamps).
The file itself names its holder for people. On a shared filesystem the same works across hosts
where the filesystem supports ``flock`` (local disks, NFSv4, Lustre with ``flock`` mounts).
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path


def claim_path(result: Path) -> Path:
    return Path(result).with_suffix(".claim")


class Claim:
    """A held claim; release it (or leave the ``with`` block) when the run is over."""

    def __init__(self, fd: int, path: Path, previous: dict | None):
        self.fd, self.path = fd, path
        self.previous = previous  # the owner info a dead worker left behind, if any

    def release(self) -> None:
        if self.fd is None:
            return
        self.path.unlink(missing_ok=True)  # while still locked: nobody can grab a file we then delete
        os.close(self.fd)
        self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def read_owner(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text() or "null")
    except (OSError, ValueError):
        return None


def try_claim(result: Path) -> Claim | None:
    """Claim the run whose result file is ``result``; None when another live worker holds it."""
    path = claim_path(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the holder before us may have deleted the file between our open and our lock
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        previous = read_owner(path)
        info = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        return Claim(fd, path, previous)
    return None


def live_holder(result: Path) -> dict | None:
    """The owner named in the run's claim file if that worker is alive on this host, else None.
    Reads the file only: taking even a shared lock to test it could make a worker that is claiming
    at that moment skip the run. A claim from another host is reported as it stands."""
    owner = read_owner(claim_path(result))
    if not owner:
        return None
    if owner.get("host") != socket.gethostname():
        return owner
    try:
        os.kill(int(owner["pid"]), 0)
    except (ProcessLookupError, KeyError, ValueError, TypeError):
        return None
    except PermissionError:   # alive, but another user's process
        pass
    return owner

"""The machine's cores, shared by every grid worker on it, so that runs never ask for more threads
than there are cores (a 2-thread ResNet-18 run beside a 1-thread run on 2 cores would make all three
threads wait on each other). One lock file per core; a run holds as many as it has threads. The
grid keeps them in ``<results>/.cores/<host>/``: workers that share a results folder on one machine
share its cores, while a test's or a smoke run's folder has cores of its own and never waits for the
long runs. The locks are ``flock`` locks: the system drops them when a worker dies, so a killed
worker never keeps a core."""
from __future__ import annotations

import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:            # Windows: no flock; runs then share the cores without coordination
    fcntl = None

def slot_folder(results_root: Path) -> Path:
    """Where the workers of one results folder on this machine keep their core locks."""
    return Path(results_root) / ".cores" / socket.gethostname()


def machine_cores() -> int:
    """The cores this process may run on (a container's or a job's share, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _take(folder: Path, n: int, total: int) -> list:
    """Lock up to ``n`` free core files at once; all of them, or none (an open file per lock)."""
    held = []
    for i in range(total):
        f = open(folder / f"core{i}.lock", "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(f)
        except BlockingIOError:
            f.close()
        if len(held) == n:
            return held
    for f in held:                 # not enough free: give back what was taken (closing unlocks)
        f.close()
    return []


@contextmanager
def cores(n: int, *, folder: Path, total: int | None = None, poll: float = 5.0, log=None):
    """Hold ``n`` of the machine's ``total`` cores (capped at ``total``), as counted by the lock files in
    ``folder`` (``slot_folder``), while the block runs; wait, polling every ``poll`` s, while too few are
    free. Waiters queue at a gate, so a run that needs two cores is not passed over forever by 1-core runs."""
    if fcntl is None:
        yield
        return
    total = total or machine_cores()
    n = max(1, min(n, total))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "gate.lock", "a") as gate:
        fcntl.flock(gate, fcntl.LOCK_EX)
        held, waited = _take(folder, n, total), False
        while not held:
            if log and not waited:
                log(f"waiting for {n} free core(s) of {total}: other runs hold them")
            waited = True
            time.sleep(poll)
            held = _take(folder, n, total)
        fcntl.flock(gate, fcntl.LOCK_UN)
    try:
        yield
    finally:
        for f in held:
            f.close()

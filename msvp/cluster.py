"""Past one machine: the grid's workers as SLURM array tasks (or local processes) through submitit.

Each task is an ordinary grid worker; claims (``msvp.claims``) keep two tasks off the same run, so
tasks may start, die and be resubmitted in any order. Install with ``pip install msvp[cluster]``.
"""
from __future__ import annotations

from pathlib import Path

EXECUTORS = ("slurm", "local")


def submit(kind: str, work, job, todo: list, tasks: int, *, folder="build/submitit", timeout_min: int = 24 * 60,
           slurm_args: dict | None = None) -> list[dict]:
    """Run ``tasks`` copies of the grid's worker function ``work(job, todo)`` and wait for them;
    returns each worker's summary. (The worker is passed in, so this module never imports the grid.)"""
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; valid choices: {', '.join(EXECUTORS)}")
    try:
        import submitit
    except ImportError:
        raise ValueError("the cluster executor needs submitit: pip install 'msvp[cluster]'") from None
    folder = Path(folder)
    if kind == "local":
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=timeout_min)
    else:
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        ex.update_parameters(timeout_min=timeout_min, slurm_array_parallelism=tasks,
                             cpus_per_task=max(c.threads for c, _ in todo) if todo else 1,
                             **(slurm_args or {}))
    with ex.batch():
        futures = [ex.submit(work, job, todo) for _ in range(tasks)]
    return [f.result() for f in futures]

"""The grid runner: expand a profile (``msvp.experiments``) into runs, skip current ones, train the rest.

Every run writes its result file when it finishes and checkpoints beside it, so an interrupted grid
restarts where it stopped. Workers (``jobs``), shards (``shard=(i, n)``), several grids on one
folder and SLURM array tasks can all share one results folder: each run is claimed by exactly one
live worker (``msvp.claims``), and a claim left by a dead worker is taken over. On the CPU a run
also holds as many of the machine's cores as it has threads (``msvp.cores``), so the workers of one
results folder on one machine never run more threads than it has cores.
"""
from __future__ import annotations

import functools
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from .claims import claim_path, try_claim
from .cluster import submit
from .config import RunConfig
from .cores import cores, slot_folder
from .data import resolve_data_root
from .engine import TrainingDiverged, run
from .experiments import get_profile
from .plan import expected_seconds
from .results import ResultsError, checkpoint_path, read_record, result_path, results_root, staleness
from .training import resolve_device

LOG = functools.partial(print, flush=True)


ONLY_KEYS = ("dataset", "backbone", "variant", "seed")


def parse_only(spec: str | None) -> dict:
    """'dataset=mnist,backbone=cnn|vit' -> {'dataset': {'mnist'}, 'backbone': {'cnn', 'vit'}}.
    A key given twice keeps both values (dataset=mnist,dataset=cifar10 = dataset=mnist|cifar10)."""
    if not spec:
        return {}
    out = {}
    for part in spec.split(","):
        key, sep, val = part.partition("=")
        if not sep or key not in ONLY_KEYS or not val:
            raise ValueError(f"bad --only item {part!r}; use key=value with key in {', '.join(ONLY_KEYS)}")
        out.setdefault(key, set()).update(val.split("|"))
    return out


def check_only(configs: list[RunConfig], only: dict) -> None:
    """A filter value that matches nothing in the profile is a typo, not an empty selection."""
    for key, values in only.items():
        known = {str(getattr(c, key)) for c in configs}
        if values - known:
            raise ValueError(f"--only {key}: {', '.join(sorted(values - known))} not in this profile; "
                             f"valid choices: {', '.join(sorted(known))}")


def select(configs: list[RunConfig], only: dict | str | None = None, shard: tuple[int, int] | None = None):
    only = parse_only(only) if isinstance(only, str) or only is None else only
    check_only(configs, only)
    picked = [c for c in configs if all(str(getattr(c, k)) in v for k, v in only.items())]
    if shard:
        i, n = shard
        if not 0 <= i < n:
            raise ValueError(f"shard {i}/{n}: need 0 <= i < n")
        picked = picked[i::n]
    return picked


def run_state(path: Path, cfg: RunConfig) -> tuple[str, str]:
    """('done' | 'diverged' | 'missing' | 'stale', why) for one run's result file."""
    if not path.exists():
        return "missing", ""
    try:
        rec = read_record(path)
    except ResultsError as e:
        return "stale", str(e)
    why = staleness(rec, cfg)
    return ("stale", why) if why else (rec["status"], rec.get("error", ""))


def check_results_root(results) -> None:
    if results is not None and str(results).strip() in ("", "."):
        raise ValueError("--results is empty; name a folder (default: $MSVP_RESULTS or results/)")
    root = Path(results) if results else None
    if root is not None and root.exists() and not root.is_dir():
        raise ValueError(f"--results {root} is a file, not a folder")


@dataclass
class Job:
    profile: str
    results: object
    data_root: str
    force: bool
    retry_diverged: bool
    deadline: float | None
    progress: bool | None
    explain: bool
    started: float


def needs_training(job: Job, cfg: RunConfig, path: Path) -> bool:
    state, _ = run_state(path, cfg)
    if job.force:  # once per grid call, even with several workers
        return not (path.exists() and path.stat().st_mtime >= job.started)
    return state in ("missing", "stale") or (state == "diverged" and job.retry_diverged)


def run_name(job: Job, cfg: RunConfig) -> str:
    """'cifar10/cnn/baseline', with the fields that tell a profile's runs of one cell apart
    ('.../train_subset-450' in the scarce profile), as in the result path."""
    extra = "".join(f"/{f}-{getattr(cfg, f)}" for f in get_profile(job.profile).path_fields)
    return f"{cfg.dataset}/{cfg.backbone}/{cfg.variant}{extra}"


class OutOfTime(Exception):
    """The run could not start soon enough to end within the grid's time budget."""


def out_of_time(job: Job, cfg: RunConfig) -> bool:
    """Whether a run started now is expected to end after the grid's deadline."""
    return bool(job.deadline) and time.time() + expected_seconds(cfg, job.data_root, job.results,
                                                                 job.profile) > job.deadline


def train_one(job: Job, cfg: RunConfig, path: Path, log) -> dict:
    """Train one claimed run; on the CPU, while holding as many of the machine's cores as it has threads.
    The deadline is checked again once the cores are free: waiting for them can take a whole run."""
    cpu = resolve_device(cfg).type == "cpu"
    held = cores(cfg.threads, folder=slot_folder(results_root(job.results)), log=log) if cpu else nullcontext()
    with held:
        if out_of_time(job, cfg):
            raise OutOfTime
        return run(cfg, out_path=path, checkpoint_path=checkpoint_path(path), data_root=job.data_root,
                   profile=job.profile, progress=job.progress, explain=job.explain)


def work(job: Job, todo: list[tuple[RunConfig, Path]], log=LOG) -> dict:
    """One worker: claim each run in turn, train it unless it is done by now, release it."""
    summary = {"done": [], "failed": [], "left": [], "elsewhere": []}
    disable = (not sys.stderr.isatty()) if job.progress is None else not job.progress
    for cfg, path in tqdm(todo, desc=f"grid {job.profile}", disable=disable):
        if out_of_time(job, cfg):
            summary["left"].append(path)
            continue
        claim = try_claim(path)
        if claim is None:
            summary["elsewhere"].append(path)
            continue
        with claim:
            if not needs_training(job, cfg, path):
                continue
            if claim.previous:
                log(f"taking over {path.name} of {run_name(job, cfg)} from a stopped worker "
                    f"(pid {claim.previous.get('pid')} on {claim.previous.get('host')})")
            t0 = time.perf_counter()
            try:
                rec = train_one(job, cfg, path, log)
            except TrainingDiverged as e:
                log(f"diverged: {e}")
                summary["failed"].append(path)
                continue
            except OutOfTime:
                log(f"{run_name(job, cfg)}/seed{cfg.seed}: left for later, the cores were free too late "
                    "to end it within the time budget")
                summary["left"].append(path)
                continue
        summary["done"].append(path)
        here = time.perf_counter() - t0
        total = rec.get("wall_time_s", here)   # the whole run's time, across resumes
        took = f"{total:.0f} s"
        if total > 1.05 * here:
            took += f", {here:.0f} s of it since this worker resumed it"
        log(f"{run_name(job, cfg)}/seed{cfg.seed}: test acc {rec['test_acc']:.4f} ({took})")
    return summary


def plan_runs(profile: str, *, only=None, shard=None, results=None, device=None) -> list[tuple[RunConfig, Path, str, str]]:
    """(config, result path, state, why) for every selected run of a profile."""
    check_results_root(results)
    configs = select(get_profile(profile).configs(), only, shard)
    if device:
        configs = [replace(c, device=device) for c in configs]
    out = []
    for cfg in configs:
        path = result_path(results, profile, cfg)
        out.append((cfg, path, *run_state(path, cfg)))
    return out


def run_grid(profile: str, *, only=None, shard=None, force=False, results=None, data_root=None,
             train=True, progress=None, jobs: int = 1, time_budget: float | None = None, device: str | None = None,
             retry_diverged: bool = False, explain: bool = True, executor: str | None = None,
             log=LOG) -> dict:
    """Train every run of a profile that is missing or stale (``force``: all; ``retry_diverged``: also
    the diverged ones). With ``train=False`` nothing is trained. ``jobs`` worker processes share the
    runs; ``time_budget`` (seconds) starts no run expected to end after it. Returns lists of paths:
    done, skipped (current results), diverged (recorded as diverged, kept), missing (not trained),
    failed (diverged now), left (out of time), elsewhere (claimed by another worker), and
    'stale': {path: why}."""
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    plan = plan_runs(profile, only=only, shard=shard, results=results, device=device)
    job = Job(profile, results, str(resolve_data_root(data_root)), force, retry_diverged,
              time.time() + time_budget if time_budget else None, progress, explain, time.time())
    todo = [(c, p) for c, p, state, _ in plan
            if force or state in ("missing", "stale") or (state == "diverged" and retry_diverged)]
    summary = plan_summary(plan, todo)
    release_finished_claims(summary["skipped"])
    if not train:
        summary["missing"] = [p for _, p in todo]
        return summary
    return merge_workers(summary, dispatch(job, todo, jobs, executor, log))


def plan_summary(plan: list, todo: list) -> dict:
    """The summary before any training: what is current, diverged and stale, nothing done yet."""
    return {"done": [], "failed": [], "left": [], "elsewhere": [], "missing": [],
            "skipped": [p for c, p, state, _ in plan if (c, p) not in todo and state == "done"],
            "diverged": [p for c, p, state, _ in plan if (c, p) not in todo and state == "diverged"],
            "stale": {p: why for _, p, state, why in plan if state == "stale"}}


def release_finished_claims(paths) -> None:
    """A claim file left by a worker killed after writing its result: nobody holds it, drop it."""
    for path in paths:
        if claim_path(path).exists() and (claim := try_claim(path)):
            claim.release()


def dispatch(job: Job, todo: list, jobs: int, executor: str | None, log) -> list[dict]:
    """Run the workers (here, in spawned processes, or through submitit); each returns its summary."""
    if executor:
        return submit(executor, work, job, todo, jobs)
    if jobs == 1:
        return [work(job, todo, log)]
    # spawn, not fork: each worker gets a clean torch (thread pools, CUDA) of its own
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        return list(pool.map(work, [job] * jobs, [todo] * jobs))


def merge_workers(summary: dict, parts: list[dict]) -> dict:
    for part in parts:
        for key in ("done", "failed"):
            summary[key] += part[key]
    done = set(summary["done"]) | set(summary["failed"])
    # a run is 'left' or 'elsewhere' only if no worker of ours trained it
    for key in ("left", "elsewhere"):
        summary[key] = sorted({p for part in parts for p in part[key]} - done)
    return summary

"""Statistics for paired comparisons (treatment − baseline, same data set, backbone and seed) and the
rules that turn them into verdicts.

Differences are in percentage points (pp) of test accuracy. Each rule below is stated in the
docstring of the function that applies it, in words a chapter can quote:

- pairing: ``check_pair`` (runs from different code, device class, threads, precision or test set
  are never paired);
- the two intervals of a cell: ``t_estimate`` (seeds only) and ``seed_image_estimate`` (seeds and
  test images);
- what a cell could detect: ``Estimate.detectable`` (the gain found with 80 % power);
- McNemar per seed: ``mcnemar_p``;
- the convergence caveat (printed beside a verdict, never instead of one): ``converged``;
- the Holm families, one definition for the whole book: ``comparison_family``;
- per-cell verdict with TOST equivalence (at least ``MIN_PAIRS_EQUIVALENT`` pairs) and Holm correction:
  ``add_verdicts`` (``holm``, ``cell_verdict``);
- claims about an ordering of effects: ``combine`` and ``contrast_verdict``;
- pooled effect across cells: ``fixed_effect`` (decides the headline) beside ``pooled_effect``
  (random effects).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

CELL = ["dataset", "backbone"]
BASELINE = "baseline"

MARGIN_PP = 0.5
"""Equivalence margin m (pp). A difference shown to lie within ±m is 'equivalent' to no effect.
0.5 pp is fixed in advance (a margin fitted to the same data would bias the test), of the order of
the seed-to-seed spread expected of a small network on CIFAR-10: a smaller difference could come from
the choice of seed alone. On easier data the baseline's error can be below m, so no gain can reach
it there; the book's ``tables.margin_md`` says what m means on each data set, and ``Estimate.detectable`` what
each cell could have detected."""

LEVEL = 0.95
"""Confidence level of every interval; tests are two-sided at alpha = 1 − LEVEL = 0.05."""

CONVERGENCE_TOL_PP = 0.5
"""Convergence caveat (pp): a baseline whose mean validation accuracy rose by more than this over its
last two epochs is 'still improving', and every verdict of its cell says so. Equal to MARGIN_PP: a
baseline still gaining more than the smallest effect we would claim might end elsewhere with a longer
budget. A caveat, not a gate: under cosine annealing the last epochs nearly always rise as the
learning rate falls to near 0, so the rise measures the schedule as much as the comparison, and the
paper's claims are made at its protocol."""

POWER = 0.8
"""Power at which ``Estimate.detectable`` reports the smallest gain a cell could detect."""

NOT_ENOUGH_PAIRS = "not enough pairs yet"
"""The verdict of a cell with fewer than 2 seed pairs: no interval, so no rule can apply."""

MIN_PAIRS_EQUIVALENT = 3
"""Fewest seed pairs for 'equivalent'. With 2 pairs the seed part of an interval has 1 degree of freedom:
the 90 % interval that TOST reads is half as wide as the 95 % one (t quantiles 6.3 and 12.7), so TOST
could call a cell equivalent while the 95 % interval printed beside it reaches far past the margin.
Equivalence is a claim that an effect is absent; it waits for a third pair."""

N_BOOT = 2000
"""Bootstrap resamples for the image-level standard error: Monte-Carlo error of the SE ≈ 1/√(2B) ≈ 1.6 %."""

PAIR_FIELDS = ("fingerprint", "device_class", "threads", "precision", "n_test")
"""Fields two runs must share to be paired: training code, device class, CPU threads, numeric
precision and test-set size (a different size means a different test set)."""


class MixedPairError(ValueError):
    """Two runs that differ in a field of PAIR_FIELDS were about to be compared."""


# ---------------------------------------------------------------------------------------------
# pairing

def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _same(a, b) -> bool:
    # a missing value matches only another missing value: an old record must not pair with a new one
    return (_missing(a) and _missing(b)) or (not _missing(a) and not _missing(b) and a == b)


def check_pair(treat, base, fields=PAIR_FIELDS) -> None:
    """Rule: two runs are paired only if they ran the same training code (fingerprint) on the same
    device class, with the same number of threads and numeric precision, on the same test set;
    otherwise a difference could come from the environment, not from MSVP. Raises MixedPairError.
    ``treat`` and ``base`` are mappings (rows); a field absent from either is not checked."""
    for f in fields:
        if f in treat and f in base and not _same(treat[f], base[f]):
            raise MixedPairError(f"refusing to pair {treat.get('path')} with {base.get('path')}: "
                                 f"{f} differs ({treat[f]!r} vs {base[f]!r})")


def _side(row: pd.Series, suffix: str) -> dict:
    return {k[:-len(suffix)]: v for k, v in row.items() if k.endswith(suffix)}


def pair_runs(cell: pd.DataFrame, treatment: str, control: str = "baseline") -> pd.DataFrame:
    """Rows of one (dataset, backbone) cell matched by seed: columns suffixed ``_t`` (treatment) and
    ``_b`` (control), seeds in increasing order; every pair is checked by ``check_pair``."""
    t = cell[cell.variant == treatment]
    b = cell[cell.variant == control]
    pairs = t.merge(b, on="seed", suffixes=("_t", "_b")).sort_values("seed").reset_index(drop=True)
    for _, row in pairs.iterrows():
        check_pair(_side(row, "_t"), _side(row, "_b"))
    return pairs


# ---------------------------------------------------------------------------------------------
# one cell: an estimate with its uncertainty

@dataclass(frozen=True)
class Estimate:
    """A difference (pp) with variance ``var_t`` known to ``df`` degrees of freedom (the seed part)
    plus variance ``var_z`` known precisely (the shared test-image part). Its interval at level L is
    mean ± √(t²_{df} · var_t + z² · var_z), with t and z the (1+L)/2 quantiles. With var_z = 0 this
    is the t-interval. Fields may be numpy arrays (many estimates at once)."""
    mean: float
    var_t: float
    df: float
    var_z: float = 0.0

    @property
    def se(self):
        return np.sqrt(self.var_t + self.var_z)

    def half_width(self, level: float = LEVEL):
        q = 0.5 + level / 2
        return np.sqrt(sps.t.ppf(q, self.df) ** 2 * self.var_t + sps.norm.ppf(q) ** 2 * self.var_z)

    def interval(self, level: float = LEVEL):
        h = self.half_width(level)
        return self.mean - h, self.mean + h

    def _level_reaching(self, distance: float) -> float:
        """The level L whose half-width equals ``distance`` (half-width grows from 0 to ∞ with L)."""
        if not np.isfinite(self.df) or self.df < 1 or not np.isfinite(self.se):
            return math.nan
        if distance <= 0:
            return 0.0
        if self.se == 0:
            return 1.0
        f = lambda lv: float(self.half_width(lv)) - distance  # noqa: E731
        if f(1 - 1e-15) < 0:
            return 1.0
        return optimize.brentq(f, 0.0, 1 - 1e-15, xtol=1e-14)

    def p_value(self) -> float:
        """Two-sided p for 'no difference': one minus the level of the widest interval that excludes 0
        (for var_z = 0 this is the paired t-test's p)."""
        return 1 - self._level_reaching(abs(float(self.mean)))

    def p_tost(self, margin: float = MARGIN_PP) -> float:
        """TOST p for 'the difference lies within ±margin': the smallest alpha at which the
        (1 − 2·alpha) interval lies inside ±margin (for var_z = 0, the larger one-sided t-test p);
        0.5 when the estimate itself lies outside the margin."""
        return (1 - self._level_reaching(margin - abs(float(self.mean)))) / 2

    def detectable(self, power: float = POWER, level: float = LEVEL) -> float:
        """The smallest true difference (pp) that the two-sided test at ``level`` (before Holm, which
        can only raise it) detects with probability ``power``, given this estimate's standard error
        and degrees of freedom: the difference δ at which mean/se exceeds the test's critical value
        c = half_width(level)/se with probability ``power``. mean/se is taken as noncentral t
        (scipy.stats.nct, noncentrality δ/se) on the Welch–Satterthwaite degrees of freedom of the
        summed variance, df·(var_t + var_z)²/var_t²: exact for the paired t-test (var_z = 0), normal
        when the precisely known image part dominates. The far tail (rejecting with the wrong sign)
        is left out; at 80 % power its probability is negligible. NaN without an interval."""
        se = float(self.se)
        if not np.isfinite(se) or se <= 0 or not np.isfinite(self.df) or self.df < 1:
            return math.nan
        vt = float(self.var_t)
        df = float(self.df) * (se ** 2 / vt) ** 2 if vt > 0 else math.inf
        c = float(self.half_width(level)) / se
        if not np.isfinite(df):
            return se * (c + sps.norm.ppf(power))
        reach = lambda nc: sps.nct.sf(c, df, nc) - power  # noqa: E731 (power at noncentrality nc)
        return se * optimize.brentq(reach, 0.0, c + 60.0)


NO_ESTIMATE = Estimate(math.nan, math.nan, math.nan, math.nan)


def t_estimate(diffs) -> Estimate:
    """Seeds only: the per-seed differences d_1..d_S give mean d̄ and variance s²/S with S − 1
    degrees of freedom (the paired t-interval). It treats the test set as fixed, so it ignores
    which test images happened to be drawn."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return Estimate(float(d.mean()) if len(d) else math.nan, math.nan, math.nan)
    return Estimate(float(d.mean()), float(d.var(ddof=1) / len(d)), len(d) - 1)


def t_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of ``values`` (scipy's one-sample t-test interval); (mean, nan,
    nan) when fewer than 2 values."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean()) if len(v) else math.nan
    if len(v) < 2:
        return mean, math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero spread: scipy warns, the interval is [mean, mean]
        ci = sps.ttest_1samp(v, 0.0).confidence_interval(level)
    return mean, float(ci.low), float(ci.high)


def image_bootstrap_se(per_image, n_boot: int = N_BOOT, random_seed: int = 0):
    """Standard error of the mean of ``per_image`` (last axis = test images) from a bootstrap over
    test images (scipy.stats.bootstrap). Leading axes are separate data sets."""
    x = np.asarray(per_image, dtype=float)
    batch = max(1, int(4e6 // x.size))  # bound the resample array to ~32 MB
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate (constant) data: SE 0 is the right answer
        kw = dict(axis=-1, n_resamples=n_boot, vectorized=True, method="percentile", batch=batch)
        try:
            res = sps.bootstrap((x,), np.mean, rng=np.random.default_rng(random_seed), **kw)
        except TypeError:  # scipy < 1.15 calls the generator random_state
            res = sps.bootstrap((x,), np.mean, random_state=np.random.default_rng(random_seed), **kw)
    return res.standard_error


def seed_image_estimate(diffs, n_boot: int = N_BOOT, random_seed: int = 0) -> Estimate:
    """Seeds and test images. ``diffs`` holds, per seed (axis −2) and test image (axis −1), treatment
    minus baseline correctness (−1, 0 or +1); every seed was tested on the same images.

    Rule: the interval is the t-interval widened by the test-set noise that all seeds share. Its
    variance has a seed part, s²/S of the per-seed mean differences with S − 1 degrees of freedom
    (as in the t-interval), plus a shared-image part, v_img − v_res, where v_img is the bootstrap
    variance of the mean over test images (one resample of the images for all seeds and both arms:
    the design is paired and crossed) and v_res = MS_res/(S·N) is the seed × image residual, which
    the seed part already contains and must not be counted twice. The shared part (floored at 0)
    gets a normal quantile, the seed part a t quantile. When the per-seed differences are identical
    (quantised data, not a proof of zero seed noise) the seed part falls back to v_res.

    In simulation (tests/test_stats_coverage.py: 3 seeds, 0/1 correctness, 2,000 experiments per
    setting) it covers a known effect at 95.7-96.1 % when seed or seed × image noise dominates and at
    96.8-97.2 % when images carry their own effect, where the t-interval falls to 91-92 %. Not used, because they miss the nominal rate:
    a two-level percentile bootstrap (≈ 75 % when seed noise dominates: 3 seeds cannot be resampled;
    ≈ 99 % otherwise: it counts the seed × image term up to three times) and a Satterthwaite
    t-interval on the summed variance (92-94 %)."""
    d = np.asarray(diffs, dtype=float)
    s, n = d.shape[-2:]
    if s < 2:
        return NO_ESTIMATE
    by_seed, by_image, grand = d.mean(-1), d.mean(-2), d.mean((-2, -1))
    var_seed = by_seed.var(-1, ddof=1) / s
    resid = d - by_seed[..., None] - by_image[..., None, :] + grand[..., None, None]
    var_res = (resid ** 2).sum((-2, -1)) / ((s - 1) * (n - 1)) / (s * n)
    var_img = image_bootstrap_se(by_image, n_boot, random_seed) ** 2
    var_seed = np.where(var_seed > 0, var_seed, var_res)
    shared = np.maximum(var_img - var_res, 0.0)
    pp = 100.0
    return Estimate(grand * pp, var_seed * pp ** 2, s - 1, shared * pp ** 2)


def mcnemar_p(correct_t, correct_b) -> float:
    """Exact McNemar test on one seed: among the test images that exactly one of the two models gets
    right, is 'treatment right' as likely as 'baseline right'? (binomial test, p = 0.5; 1.0 when no
    image is discordant). A per-seed diagnostic: it sees only test-image noise, not seed noise."""
    t, b = np.asarray(correct_t, bool), np.asarray(correct_b, bool)
    wins, losses = int((t & ~b).sum()), int((b & ~t).sum())
    return 1.0 if wins + losses == 0 else float(sps.binomtest(wins, wins + losses, 0.5).pvalue)


# ---------------------------------------------------------------------------------------------
# convergence caveat

def converged(curves, tol_pp: float = CONVERGENCE_TOL_PP) -> tuple[bool | None, float]:
    """Rule (a caveat, not a gate): a baseline counts as converged at its budget when its validation
    accuracy, averaged over seeds (epoch by epoch, over the epochs all seeds have), rose by at most
    ``tol_pp`` over the last two epochs (last minus third-to-last); otherwise it is 'still improving'
    and every verdict of its cell carries that caveat, with the rise and the schedule's last
    learning rate (``last_lr``). Fewer than three epochs cannot show a plateau: not converged.
    Returns (converged, rise in pp); (None, nan) when no curve was recorded (nothing to say)."""
    cs = [np.asarray(c, dtype=float) for c in curves
          if c is not None and len(c) and not np.isnan(np.asarray(c, dtype=float)).any()]
    if not cs:
        return None, math.nan
    length = min(len(c) for c in cs)
    if length < 3:
        return False, math.nan
    mean = np.mean([c[:length] for c in cs], axis=0)
    rise = 100 * float(mean[-1] - mean[-3])
    return rise <= tol_pp, rise


def last_lr(lr_curves) -> tuple[float, float]:
    """(first, last) learning rate of the runs' recorded schedules, epoch by epoch (the runs of one
    cell share them); (nan, nan) when none was recorded."""
    cs = [np.asarray(c, dtype=float) for c in lr_curves
          if c is not None and not isinstance(c, float) and len(c) and np.isfinite(np.asarray(c, dtype=float)).all()]
    if not cs:
        return math.nan, math.nan
    return float(np.median([c[0] for c in cs])), float(np.median([c[-1] for c in cs]))


# ---------------------------------------------------------------------------------------------
# multiplicity and verdicts

def holm(pvalues) -> np.ndarray:
    """Holm step-down adjustment (family-wise error ≤ alpha): the i-th smallest of m p-values is
    multiplied by m − i + 1, then made non-decreasing and capped at 1. NaN p-values (cells without
    a test) are left out of the family and stay NaN. (scipy has no Holm; this is the textbook rule.)"""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adj = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adj, 1.0)
    return out


def cell_verdict(p_holm: float, p_tost_holm: float, mean: float, n_pairs: int = 2, alpha: float = 1 - LEVEL) -> str:
    """Rule, per cell: 'not enough pairs yet' with fewer than two paired seeds (no interval);
    'improves' or 'hurts' if the Holm-adjusted two-sided p is below alpha (the sign of the mean
    decides); else 'equivalent' if the cell has at least MIN_PAIRS_EQUIVALENT pairs and its
    Holm-adjusted TOST p is below alpha (for a family of one, the 90 % interval lies inside ±m; Holm
    widens that interval with more cells); else 'inconclusive'.
    A baseline that is still improving does not change the verdict: its caveat is printed beside it
    (``converged``)."""
    if n_pairs < 2:
        return NOT_ENOUGH_PAIRS
    if p_holm < alpha:
        return "improves" if mean > 0 else "hurts"
    if n_pairs >= MIN_PAIRS_EQUIVALENT and p_tost_holm < alpha:
        return "equivalent"
    return "inconclusive"


def add_verdicts(p: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Holm-adjust the p-values over the rows of ``p`` (one family, see ``comparison_family``) and
    give each row its verdict. Cells with fewer than two pairs have no p-value and stay out of the
    family; cells with fewer than MIN_PAIRS_EQUIVALENT pairs, which cannot be called equivalent, stay
    out of the TOST family; cells whose baseline is still improving stay in both."""
    p = p.copy()
    n_pairs = p["n_pairs"].to_numpy(dtype=float) if "n_pairs" in p else np.full(len(p), 2.0)
    few = n_pairs < 2
    p["p_holm"] = holm(np.where(few, np.nan, p.p_value.to_numpy(dtype=float)))
    p["holm_m"] = int(p.p_holm.notna().sum())  # family size, kept when a chapter shows a subset of rows
    p["p_tost_holm"] = holm(np.where(n_pairs < MIN_PAIRS_EQUIVALENT, np.nan, p.p_tost.to_numpy(dtype=float)))
    p["verdict"] = [cell_verdict(r.p_holm, r.p_tost_holm, r.diff_pp, n, 1 - level)
                    for r, n in zip(p.itertuples(), n_pairs)]
    return p


# ---------------------------------------------------------------------------------------------
# the paired table

def _all_correct(pairs: pd.DataFrame) -> bool:
    runs = list(pairs.correct_t) + list(pairs.correct_b) if "correct_t" in pairs else [None]
    return all(c is not None and not _missing(c) for c in runs)


def _diff_matrix(pairs: pd.DataFrame) -> np.ndarray:
    """Seeds × test images: treatment minus baseline correctness; one test-image order for all runs."""
    lengths = {len(c) for c in list(pairs.correct_t) + list(pairs.correct_b)}
    if len(lengths) > 1:
        raise MixedPairError(f"per-image records of different lengths {sorted(lengths)} in one cell: "
                             f"{pairs.path_t.iloc[0]} ... (not the same test set)")
    return np.stack([np.asarray(t, int) - np.asarray(b, int) for t, b in zip(pairs.correct_t, pairs.correct_b)])


def baseline_error_pp(cell: pd.DataFrame, control: str = "baseline") -> float:
    """The cell's measured difficulty: mean test error of its baseline runs (pp), over all seeds."""
    acc = cell.loc[cell.variant == control, "test_acc"].astype(float)
    return 100 * (1 - float(acc.mean())) if len(acc) else math.nan


def schedule_fields(cell: pd.DataFrame, tol_pp: float = CONVERGENCE_TOL_PP) -> dict:
    """The convergence caveat of a cell, read from its baseline runs (whatever the comparison's
    control, so that every comparison in a cell carries the same caveat): whether the baseline
    converged, its validation rise over the last two epochs (pp) and the first and last learning rate
    of its schedule."""
    base = cell[cell.variant == BASELINE] if (cell.variant == BASELINE).any() else cell.iloc[:0]
    curves = base["val_acc_curve"] if "val_acc_curve" in base else []
    is_conv, rise = converged(list(curves), tol_pp)
    lr0, lr1 = last_lr(list(base["lr_curve"]) if "lr_curve" in base else [])
    return {"converged": is_conv, "val_rise_pp": rise, "lr_first": lr0, "lr_last": lr1}


def cell_row(cell: pd.DataFrame, treatment: str, control: str = BASELINE, metric: str = "test_acc",
             level: float = LEVEL, margin_pp: float = MARGIN_PP, n_boot: int = N_BOOT,
             conv_tol_pp: float = CONVERGENCE_TOL_PP) -> dict | None:
    """Everything measured for one (dataset, backbone) cell and one treatment, before multiplicity
    correction: the t-interval over seeds, the seed × image interval where every run stored its
    per-image correctness (else the t-interval is the primary interval, and the row says so), the
    gain it could detect (``Estimate.detectable``), McNemar per seed, the control's error and the
    cell's convergence caveat (``schedule_fields``). None if no seed is paired."""
    pairs = pair_runs(cell, treatment, control)
    if pairs.empty:
        return None
    d = 100 * (pairs[f"{metric}_t"].to_numpy(float) - pairs[f"{metric}_b"].to_numpy(float))
    t_est = t_estimate(d)
    _, t_lo, t_hi = t_interval(d, level)
    # per-image records describe the last-epoch model, so they only back up the last-epoch metric
    per_image = metric == "test_acc" and _all_correct(pairs)
    est = seed_image_estimate(_diff_matrix(pairs), n_boot) if per_image and len(pairs) > 1 else t_est
    lo, hi = est.interval(level) if len(pairs) > 1 else (math.nan, math.nan)
    return {"dataset": cell.dataset.iloc[0], "backbone": cell.backbone.iloc[0], "treatment": treatment,
            "control": control, "n_pairs": len(pairs), "seeds": tuple(int(s) for s in pairs.seed),
            "wins": int((d > 0).sum()), "diff_pp": float(est.mean),
            "diff_std_pp": float(np.std(d, ddof=1)) if len(d) > 1 else math.nan,
            "t_lo_pp": t_lo, "t_hi_pp": t_hi, "lo_pp": float(lo), "hi_pp": float(hi),
            "interval": "seed × image" if per_image else "t only (no per-image records)",
            "var_t": float(est.var_t), "df": float(est.df), "var_z": float(est.var_z),
            "p_value": est.p_value(), "p_tost": est.p_tost(margin_pp), "detectable_pp": est.detectable(level=level),
            "mcnemar_p": tuple(mcnemar_p(t, b) for t, b in zip(pairs.correct_t, pairs.correct_b)) if per_image else (),
            "baseline_err_pp": baseline_error_pp(cell, control),
            "n_test": int(pairs.n_test_b.iloc[0]) if "n_test_b" in pairs and not _missing(pairs.n_test_b.iloc[0]) else None,
            **schedule_fields(cell, conv_tol_pp),
            # the pre-issue-12 columns (fractions), kept for callers that plot or format them
            "diff_mean": float(est.mean) / 100, "ci_low": float(lo) / 100, "ci_high": float(hi) / 100}


PAIRED_COLUMNS = ["dataset", "backbone", "treatment", "control", "n_pairs", "seeds", "wins", "diff_pp", "diff_std_pp",
                  "t_lo_pp", "t_hi_pp", "lo_pp", "hi_pp", "interval", "var_t", "df", "var_z", "p_value", "p_tost",
                  "detectable_pp", "mcnemar_p", "baseline_err_pp", "n_test", "converged", "val_rise_pp", "lr_first",
                  "lr_last", "diff_mean", "ci_low", "ci_high", "p_holm", "holm_m", "p_tost_holm", "verdict"]


def paired_cells(df: pd.DataFrame, treatment: str, control: str = "baseline", metric: str = "test_acc",
                 level: float = LEVEL, **kw) -> pd.DataFrame:
    """``cell_row`` for every (dataset, backbone) cell that has paired seeds, without verdicts."""
    rows = [cell_row(cell, treatment, control, metric, level, **kw) for _, cell in df.groupby(CELL, sort=False)]
    return pd.DataFrame([r for r in rows if r is not None], columns=PAIRED_COLUMNS[:-4])


def comparison_family(df: pd.DataFrame, treatment: str, control: str = BASELINE, metric: str = "test_acc",
                      level: float = LEVEL, **kw) -> pd.DataFrame:
    """Rule, the one definition of a Holm family for the whole book: one comparison (one treatment
    against one control, e.g. MSVP add/full − baseline, or pad prompt − MSVP add/full) over every
    (data set, backbone) cell of the profile where both arms have paired seeds. ``df`` must hold all
    of the profile's runs: every page (report card, experiment chapters, ablations, controls) reads a
    comparison's rows from this family and then picks the cells it shows, so one comparison gets one
    verdict throughout the book. Different comparisons answer different questions and are not
    corrected together; a page that lists k of them can expect about alpha·k false 'improves' or
    'hurts' among those without an effect, which is why an ordering of variants is never read from
    verdicts alone (chapters 6-7 compare intervals)."""
    p = paired_cells(df, treatment, control, metric, level, **kw)
    return add_verdicts(p, level) if not p.empty else pd.DataFrame(columns=PAIRED_COLUMNS)


def paired_family(df: pd.DataFrame, treatments, control: str = BASELINE, metric: str = "test_acc",
                  level: float = LEVEL, **kw) -> pd.DataFrame:
    """The families of several comparisons against one control (``comparison_family`` each: Holm runs
    within a treatment's cells, never across treatments), stacked."""
    frames = [comparison_family(df, t, control, metric, level, **kw) for t in treatments]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PAIRED_COLUMNS)


def row_estimate(row) -> Estimate:
    """The Estimate behind one row of a paired table."""
    return Estimate(row.diff_pp, row.var_t, row.df, row.var_z)


# ---------------------------------------------------------------------------------------------
# contrasts and pooling across cells

def _plain(x):
    """A 0-d array as a float (one estimate), an array as it is (many estimates at once)."""
    return float(x) if np.ndim(x) == 0 else x


def combine(estimates, weights) -> Estimate:
    """Σ w_i · estimate_i for independent cells (different data sets or backbones: different runs).
    Seed parts add as Σ w² var_t with Welch–Satterthwaite degrees of freedom; shared-image parts add
    as Σ w² var_z. The estimates' fields may be arrays of one shape (many experiments at once)."""
    shape = np.shape(estimates[0].mean)
    w = np.asarray(weights, dtype=float).reshape((-1,) + (1,) * len(shape))
    field = lambda name: np.array([np.broadcast_to(getattr(e, name), shape) for e in estimates], float)  # noqa: E731
    vt, vz, dfs = field("var_t") * w ** 2, field("var_z") * w ** 2, field("df")
    total = vt.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(total > 0, total ** 2 / np.sum(vt ** 2 / dfs, 0), dfs.min(0))
    return Estimate(_plain((w * field("mean")).sum(0)), _plain(total), _plain(df), _plain(vz.sum(0)))


def fixed_effect(estimates) -> Estimate:
    """Rule: the headline gain is the fixed-effect mean of the cells, each cell weighted equally, with
    the interval of ``combine`` (Welch–Satterthwaite degrees of freedom). It answers the claim as the
    paper makes it, about the data sets and backbones that were run: the true gain averaged over
    those cells. Their disagreement is not part of that question's uncertainty, so no between-cell
    variance enters; two or three cells could not estimate one anyway (``pooled_effect``, shown
    beside, does, and answers another question). Equal weights, not inverse-variance ones: weights
    estimated from 3-5 seeds are noisy and favour the cell whose few seeds happened to agree, which
    then also gets the smallest variance (the interval comes out too narrow), and the most precisely
    measured cell is the one with the least room to gain (MNIST). Coverage: tests/test_stats_pooling.py."""
    est = [e for e in estimates if np.isfinite(e.mean).all() and np.isfinite(e.se).all()]  # arrays: every experiment
    if not est:
        return NO_ESTIMATE
    return combine(est, np.full(len(est), 1 / len(est)))


def contrast_verdict(est: Estimate, margin: float = MARGIN_PP, level: float = LEVEL) -> str:
    """Rule for a claim judged by one number (a contrast such as 'gain on harder data minus gain on
    easier data', or the pooled gain), claimed to be > 0: 'supported' if its interval lies above 0;
    'not supported' if it lies below 0, or if the contrast is equivalent to 0 (TOST: the
    (2·level − 1) interval, 90 %, lies inside ±margin); 'inconclusive' otherwise."""
    if not np.isfinite(est.mean) or not np.isfinite(est.se):
        return "inconclusive"
    lo, hi = est.interval(level)
    if lo > 0:
        return "supported"
    if hi < 0 or est.p_tost(margin) < 1 - level:
        return "not supported"
    return "inconclusive"


def rank_weights(keys) -> np.ndarray:
    """Contrast weights for 'larger on the later keys' (keys sorted from easiest to hardest): centred
    ranks scaled so the positive weights sum to 1 (2 keys: −1, +1; 3 keys: −1, 0, +1)."""
    r = np.arange(len(keys), dtype=float)
    r -= r.mean()
    return r / r[r > 0].sum()


@dataclass(frozen=True)
class Pooled:
    estimate: Estimate
    tau2: float
    k: int


def pooled_effect(estimates) -> Pooled:
    """The random-effects reading, shown beside the headline (``fixed_effect`` decides): the mean gain
    of a population of cells from which these are taken to be a sample, i.e. what a data set or
    backbone not run here would gain on average. Between-cell variance τ² by DerSimonian–Laird; each
    cell weighted by 1/(v_i + τ²), v_i its squared standard error. The interval uses the
    Hartung–Knapp–Sidik–Jonkman variance (never below the DerSimonian–Laird one) with k − 1 degrees
    of freedom: with 2 or 3 cells that is t on 1 or 2 df, so the interval is several times wider than
    any cell's, and τ² itself rests on 1 or 2 degrees of freedom. One cell: its own estimate."""
    est = [e for e in estimates if np.isfinite(e.mean) and np.isfinite(e.se)]
    k = len(est)
    if k == 0:
        return Pooled(NO_ESTIMATE, math.nan, 0)
    if k == 1:
        return Pooled(est[0], 0.0, 1)
    y = np.array([e.mean for e in est])
    v = np.maximum(np.array([float(e.se) ** 2 for e in est]), 1e-12)  # a zero-variance cell must not take all weight
    w = 1 / v
    fixed = np.dot(w, y) / w.sum()
    q = np.dot(w, (y - fixed) ** 2)
    tau2 = max(0.0, (q - (k - 1)) / (w.sum() - np.dot(w, w) / w.sum()))
    ws = 1 / (v + tau2)
    mu = float(np.dot(ws, y) / ws.sum())
    var_dl = 1 / ws.sum()
    var_hk = float(np.dot(ws, (y - mu) ** 2) / ((k - 1) * ws.sum()))
    return Pooled(Estimate(mu, max(var_dl, var_hk), k - 1), float(tau2), k)


# ---------------------------------------------------------------------------------------------
# summaries and formatting

def summarize(df: pd.DataFrame, metric: str = "test_acc") -> pd.DataFrame:
    """Mean, std (ddof=1) and number of seeds per (dataset, backbone, variant)."""
    g = df.groupby(CELL + ["variant"], sort=False)[metric]
    return g.agg(n="count", mean="mean", std="std").reset_index()


def verdict(lo: float, hi: float) -> str:
    """Old three-way rule, kept for callers: 'improves' / 'hurts' when the interval excludes 0, else
    'inconclusive'. The report card uses ``cell_verdict``."""
    if math.isnan(lo) or math.isnan(hi) or lo <= 0 <= hi:
        return "inconclusive"
    return "improves" if lo > 0 else "hurts"


def fmt_pct(mean: float, std: float | None = None, digits: int = 2) -> str:
    """0.9912, 0.0011 -> '99.12 ± 0.11' (percent)."""
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{100 * mean:.{digits}f}"
    return f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}"


def signed(x: float, digits: int = 2) -> str:
    """'+0.12', '−0.05': a typographic minus, as in every table of the book, not a hyphen."""
    return f"{x:+.{digits}f}".replace("-", "−")


def fmt_pp(mean: float, lo: float, hi: float, digits: int = 2) -> str:
    """Difference already in pp with its interval: '+0.12 [−0.05, +0.29] pp'."""
    if math.isnan(lo):
        return f"{signed(mean, digits)} pp (n = 1, no interval)"
    return f"{signed(mean, digits)} [{signed(lo, digits)}, {signed(hi, digits)}] pp"

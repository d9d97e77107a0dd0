"""Chapters 3-5: one data set, baseline against MSVP, in the same sections for each data set."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from msvp.config import RunConfig
from msvp.datasets import DATASETS
from msvp.experiments import MAIN_VARIANTS
from msvp.stats import fmt_pct
from msvp.stats import signed as pp  # '+0.12', '−0.05'
from msvp.verdicts import LONG_PROFILE, LONG_REFERENCE

from .chapter import Page, figure, key_results, md, table
from .figures import plot_confusions, plot_learned_prompts, plot_learning_curves, plot_saliency
from .names import (
    BACKBONE_ORDER,
    CONCAT,
    DATASET_ORDER,
    MAIN,
    MAIN_PAIR,
    READINGS,
    backbone_title,
    cell_name,
    label,
)
from .sections import (
    acc_text,
    effect_sentence,
    paired_for_reading,
    paired_rows,
    progress_md,
    rules_md,
    shared_noise_md,
    show_diverged,
    show_paired_figure,
    status_md,
)
from .strongest_case import strongest_case_md
from .tables import long_budget_table
from .words import (
    data_title,
    grid_command,
    join,
    pct,
    plain_verdict,
    plural,
    span,
)


def _row_shares(confusions) -> np.ndarray:
    """Stacked confusion matrices with each row (true class) as percentages of that class."""
    m = np.stack(confusions)
    return 100 * m / np.maximum(m.sum(-1, keepdims=True), 1)


def confusion_shift(recs: list[dict], classes, top: int = 3, who: str = "") -> str:
    """Does MSVP move the baseline's largest confusions? Over every seed both arms ran: the mean share
    of each of the baseline's ``top`` confusions under both arms, and the paired per-seed differences.
    A shift whose per-seed differences change sign is within seed noise; the figure above shows seed 0
    only, so this sentence is the one that speaks for all seeds. ``who`` names the backbone."""
    mats = {v: {r["config"]["seed"]: np.asarray(r["confusion"], float) for r in recs
                if r["variant"] == v and r.get("confusion") is not None} for v in MAIN_PAIR}
    seeds = sorted(set(mats[MAIN_PAIR[0]]) & set(mats[MAIN_PAIR[1]]))
    if len(seeds) < 2:
        return ""
    base, msvp = (_row_shares([mats[v][s] for s in seeds]) for v in MAIN_PAIR)
    mean_base = base.mean(0)
    np.fill_diagonal(mean_base, 0)
    parts, kinds = [], []
    for i, j in zip(*np.unravel_index(np.argsort(mean_base, axis=None)[::-1][:top], mean_base.shape)):
        d = msvp[:, i, j] - base[:, i, j]
        name = f"{classes[i]} → {classes[j]}"
        kinds.append((name, *seeds_moved(d)))
        parts.append(f"{name} {mean_base[i, j]:.1f} % → {msvp[:, i, j].mean():.1f} % "
                     f"({pp(d.mean())} pp; per seed {pp(d.min())} to {pp(d.max())})")
    lead = f"{who}: does MSVP move them?" if who else "Does MSVP move them?"
    return (f"**{lead}** The baseline's {len(parts)} largest confusions, mean over the {len(seeds)} seeds "
            f"both arms ran, baseline → {label(MAIN_PAIR[1])}: " + "; ".join(parts) + ". "
            + _shift_verdict(kinds, len(seeds)))


def seeds_moved(d: np.ndarray) -> tuple[str, int]:
    """How one confusion's per-seed differences move, and in how many seeds: 'noise' where they change
    sign, 'all' where every seed moves and all the same way, 'some' where the others are unchanged.
    A seed whose confusion is the same under both arms has not moved: counting it as moving 'the same
    way' would report a 1-in-2^(n-1) coincidence that did not happen."""
    moved = d[np.abs(d) > 1e-9]   # equal counts give equal shares exactly; the tolerance only absorbs rounding
    if len(moved) and moved.min() < 0 < moved.max():
        return "noise", len(moved)
    return ("all" if len(moved) == len(d) else "some"), len(moved)


def _shift_verdict(kinds: list[tuple[str, str, int]], n: int) -> str:
    """The sentence after the confusions: (name, how its seeds move, seeds moved) each, ``n`` seeds."""
    if all(k == "noise" for _, k, _ in kinds):
        return "The per-seed differences change sign in all of them, so MSVP moves none of them beyond seed noise."
    out = []
    if noise := [c for c, k, _ in kinds if k == "noise"]:
        out.append(f"in {join(noise)} the per-seed differences change sign (seed noise)")
    if same := [c for c, k, _ in kinds if k == "all"]:
        out.append(f"in {join(same)} every seed moves the same way, which with no effect at all happens by "
                   f"chance one time in {2 ** (n - 1)} for each confusion ({n} seeds): a hint, not a test")
    for c, k, m in kinds:
        if k == "some" and m == 0:
            out.append(f"in {c} no seed moves")
        elif k == "some":
            # the sign test counts the seeds that moved: one alone, or all one way by chance 1 in 2^(m-1)
            odds = ("which is no evidence of a shift" if m == 1 else
                    f"all the same way, which with no effect at all happens by chance one time in {2 ** (m - 1)}: "
                    f"a hint, not a test")
            out.append(f"in {c} only {m} of the {n} seeds {'moves' if m == 1 else 'move'} (the other "
                       f"{n - m} {'is' if n - m == 1 else 'are'} unchanged), {odds}")
    s = "; ".join(out)
    return f"{s[:1].upper()}{s[1:]}."


class ExperimentChapter(Page):
    """The body of an experiment chapter (3-5) for one data set: the same sections (``SECTIONS``, in
    order), computed from the data set's own runs, with sentences that read its numbers and compare
    them with the other data sets."""

    SECTIONS = ("setting", "answer", "accuracy", "differences", "curves", "confusions", "prompts", "saliency")

    def __init__(self, profile: str, results_dir, dataset: str, data_root="../data"):
        super().__init__(profile, results_dir, data_root)
        self.dataset, self.title = dataset, DATASETS[dataset].title
        self.all = self.view.df                  # every run of the profile: comparisons across data sets
        self.df = self.all[self.all.dataset == dataset]
        self.records = self.view.done(dataset=dataset)
        self.paired = paired_rows(self.all, datasets=[dataset])
        self.backbones = [b for b in BACKBONE_ORDER if b in set(self.df.backbone)]

    # -- helpers
    def _name(self, backbone: str) -> str:
        """'MNIST (54,000 training images) · CNN': what the figure's runs were trained on."""
        n = self.df[self.df.backbone == backbone].n_train
        return (f"{self.title} ({span(n)} training images) · {backbone_title(backbone)}"
                if len(n) else cell_name(self.dataset, backbone))

    def _recs(self, backbone: str, variants=MAIN_PAIR, seed: int | None = None) -> list[dict]:
        return [r for r in self.records if r["config"]["backbone"] == backbone and r["variant"] in variants
                and (seed is None or r["config"]["seed"] == seed)]

    def _seed0(self, backbone: str) -> dict:
        return {r["variant"]: r for r in self._recs(backbone, seed=0)}

    # -- sections: the notebook calls each one under its own Markdown heading, so that the headings
    #    are the page's own and enter its table of contents (headings printed by code do not)
    def setting(self) -> None:
        main = self.states[self.states.variant.isin(MAIN_VARIANTS)]
        md(status_md(self.profile, self.df, main, datasets=[self.dataset], what=f" of this page on {self.title}"))
        md(f"**Trained so far on {self.title}, per backbone:**\n\n"
           + progress_md(self.profile, main, datasets=[self.dataset]))
        show_diverged(self.all, [self.dataset])

    def answer(self) -> None:
        if self.df.empty:
            md(f"No finished runs on {self.title} yet in the `{self.profile}` profile, so there is nothing to "
               f"read here; the sections below fill in as runs finish.")
            return
        out = []
        for b in self.backbones:
            for t in READINGS:
                r = self.paired[(self.paired.backbone == b) & (self.paired.treatment == t)]
                what = f"{backbone_title(b)}, {label(t)}"
                if len(r):
                    out.append(effect_sentence(r.iloc[0], what))
                elif (self.df.backbone == b).any():
                    out.append(f"**{what}**: no paired seeds yet.")
        out.append(self._checkpoint_sentence())
        out += self._comparison_sentences()
        md("\n\n".join(s for s in out if s))

    def strongest_case(self) -> None:
        """ViT-Tiny on CIFAR-10, where the paper's claim is strongest (chapter 5 only)."""
        md(strongest_case_md(self.profile, self.all, self.states, self.results_dir))

    def long_budget(self) -> None:
        """The long-budget check beside the protocol's verdicts (its runs are CIFAR-10 CNN runs)."""
        t, line = long_budget_table(self.results_dir, self.all, self.profile)
        if len(t):
            table(t)
            hw = t.attrs["hardware"]
            md(f"Long-budget runs: {hw['long']}. Runs at the protocol: {hw['protocol']}.")
        trains = f" `{grid_command(LONG_PROFILE)}` trains it." if not len(t) and self.profile == LONG_REFERENCE else ""
        md(f"{line[:1].upper()}{line[1:]}." + trains)

    def _checkpoint_sentence(self) -> str:
        # the runs of the accuracy table below (its arms), not the ablation and control runs of this data set
        d = self.df[self.df.variant.isin(MAIN_VARIANTS)].dropna(subset=["best_epoch"])
        if d.empty:
            return ""
        last = d.best_epoch.astype(int) == d.epochs.astype(int)
        same = (d.test_acc.astype(float) == d.test_acc_best_val.astype(float))
        s = (f"**Best-validation checkpoint.** In {int(last.sum())} of the {len(d)} runs of the table below the best "
             f"clean validation "
             f"accuracy came at the last epoch, so the *best-validation* column reports the very same model as "
             f"the *last-epoch* column")
        if last.all():
            return s + (": with the cosine schedule the last epochs train at a few per cent of the starting "
                        "learning rate, and they are the best. The two columns being equal is a finding, not a copy.")
        other = d[~last]
        diff = 100 * (other.test_acc_best_val.astype(float) - other.test_acc.astype(float))
        # an earlier best epoch can still score the same on test: say so only when that happens
        ties = (f"; {int(same.sum())} of {len(d)} runs give identical numbers in both columns"
                if int(same.sum()) != int(last.sum()) else "")
        lo, hi = pp(diff.min()), pp(diff.max())
        # one run, or several that differ alike: the value once, not 'from −0.29 to −0.29'
        by = f"{lo} pp" if lo == hi else f"{lo} to {hi} pp"
        one = len(other) == 1
        who, its = ("In the other run its", "its") if one else (f"In the other {len(other)} the", "their")
        return s + (f". {who} best epoch came earlier (epoch {span(other.best_epoch)}), and {its} test accuracy "
                    f"differs from the last epoch's by {by}{' in each' if lo == hi and not one else ''}{ties}.")

    def _comparison_sentences(self) -> list[str]:
        out = []
        p_all = paired_rows(self.all)
        for b in self.backbones:
            cells = p_all[(p_all.backbone == b) & (p_all.treatment == MAIN)]
            errs = {d: 100 * (1 - self.all[(self.all.dataset == d) & (self.all.backbone == b)
                                           & (self.all.variant == "baseline")].test_acc.astype(float).mean())
                    for d in DATASET_ORDER}
            errs = {d: e for d, e in errs.items() if np.isfinite(e)}
            others = [d for d in errs if d != self.dataset]
            if self.dataset not in errs or not others:
                continue
            rank = sorted(errs, key=errs.get).index(self.dataset)
            level = ["the easiest", "the middle one", "the hardest"][min(rank, 2)] if len(errs) == 3 else (
                "the easier" if rank == 0 else "the harder")
            parts = []
            for d in [x for x in DATASET_ORDER if x in errs]:
                r = cells[cells.dataset == d]
                eff = f"{pp(r.diff_pp.iloc[0])} pp" if len(r) else "no paired seeds"
                parts.append(f"{data_title(self.all, d)} {errs[d]:.2f} % and {eff}")   # 0.37 %, as elsewhere in the book
            out.append(f"**Compared with the other data sets** ({backbone_title(b)}, same profile): by its "
                       f"baseline's test error, {self.title} is {level} of the {len(errs)} data sets run so far. "
                       f"Baseline error and MSVP add's paired difference: " + "; ".join(parts)
                       + ". Whether the gain grows with difficulty is judged on the [report card](10_report_card.ipynb).")
        return out

    def accuracy(self) -> None:
        if self.df.empty:
            md("No runs yet.")
            return
        rows = []
        for b in self.backbones:
            for v in [x for x in MAIN_VARIANTS if x in set(self.df[self.df.backbone == b].variant)]:
                d = self.df[(self.df.backbone == b) & (self.df.variant == v)]
                last, best = d.test_acc.astype(float), d.test_acc_best_val.astype(float)
                rows.append({"backbone": backbone_title(b), "variant": label(v), "seeds": len(d),
                             "last epoch (%)": fmt_pct(last.mean(), _sd(last)),
                             "best-val. checkpoint (%)": fmt_pct(best.mean(), _sd(best)),
                             "best-val. epoch": span(d.best_epoch) + f" of {int(d.epochs.iloc[0])}",
                             "prompt params": int(d.params_prompt.iloc[0])})
        table(pd.DataFrame(rows))
        md("Top-1 test accuracy, mean ± standard deviation over seeds. *Last epoch* is the paper's metric; "
           "*best-val. checkpoint* is the model of the epoch with the best clean validation accuracy. Prompt "
           "parameters are counted on the trained model.")

    def differences(self) -> None:
        md(rules_md())
        if self.paired.empty:
            md("No paired seeds yet on this data set.")
            return
        table(paired_for_reading(self.paired))
        md(shared_noise_md(self.paired))
        n = span(self.df.n_train)
        show_paired_figure(self.paired, f"{self.title} ({n} training images): MSVP − baseline")

    def curves(self) -> None:
        shown = False
        for b in self.backbones:
            recs = self._recs(b, MAIN_PAIR + (CONCAT,))
            if not recs:
                continue
            figure(plot_learning_curves(recs, f"{self._name(b)}: learning curves"))
            md(self._curve_sentence(recs, b))
            shown = True
        if not shown:
            md("No runs yet.")
        else:
            md("Lines: mean over seeds; bands: range over seeds. Validation images are never augmented (the "
               "official code validates on augmented images); the training loss is measured on augmented batches.")

    def _curve_sentence(self, recs: list[dict], backbone: str) -> str:
        parts, seeds = [], set()
        for v in ("baseline",) + READINGS:
            h = [r["history"] for r in recs if r["variant"] == v]
            if not h:
                continue
            seeds.add(len(h))
            n = min(len(x) for x in h)
            final = np.mean([x[n - 1]["val_acc"] for x in h])
            rise = (100 * (final - np.mean([x[n - 3]["val_acc"] for x in h]))) if n >= 3 else math.nan
            s = f"{label(v)} {pct(final)}"
            if np.isfinite(rise):
                s += f" ({pp(rise)} pp over the last two epochs)"
            parts.append(s)
        # a mean over one seed is that seed: say which it is, as the legend does
        over = ("one seed" if seeds == {1} else f"mean over the {seeds.pop()} seeds" if len(seeds) == 1
                else "mean over each arm's seeds")
        return f"{backbone_title(backbone)}, final clean validation accuracy ({over}): " + "; ".join(parts) + "."

    def confusions(self) -> None:
        shown = False
        classes = DATASETS[self.dataset].classes
        for b in self.backbones:
            pair = self._seed0(b)
            if not pair:
                continue
            mats = {label(k): pair[k]["confusion"] for k in MAIN_PAIR if k in pair}
            figure(plot_confusions(mats, classes, f"{self._name(b)}: test confusion, seed 0"))
            lines = []
            for name, m in mats.items():
                m = np.asarray(m, float)
                pct_m = 100 * m / np.maximum(m.sum(1, keepdims=True), 1)
                np.fill_diagonal(pct_m, 0)
                top = np.argsort(pct_m, axis=None)[::-1][:3]
                pairs = [f"{classes[i]} → {classes[j]} {pct_m[i, j]:.1f} %" for i, j in zip(*np.unravel_index(top, m.shape))
                         if pct_m[i, j] > 0]
                lines.append(f"{name}: " + ("; ".join(pairs) if pairs else "no confusion"))
            md(f"{backbone_title(b)}, largest confusions of seed 0 (share of the true class predicted as another): "
               + " — ".join(lines) + ".")
            md(confusion_shift(self._recs(b), classes, who=backbone_title(b)))
            shown = True
        md("Rows are true classes, normalised to 100 %; the numbers mark confusions of at least 1 %."
           if shown else "No runs yet.")

    def prompts(self) -> None:
        shown = False
        for b in self.backbones:
            rec = self._seed0(b).get(MAIN)
            if not rec or "prompts" not in rec:
                continue
            figure(plot_learned_prompts(rec, f"Learned prompt, {self._name(b)}, seed 0, channel 0"))
            maps = {k: np.asarray(v, float) for k, v in rec["prompts"].items()}
            spread = ", ".join(f"{k} {np.abs(v).max():.3f}" for k, v in maps.items())
            one, added = prompt_shares(rec)
            init = rec["config"].get("prompt_init_std", RunConfig().prompt_init_std)   # what this run used
            md(f"{backbone_title(b)}, largest absolute value per map (normalised input units): {spread}; the maps "
               f"started with a standard deviation of {init:g}. The images span {_input_range(self.dataset)} in "
               f"these units: the largest value of any single map is {one:.0f} % of that span. The upsampled maps "
               f"are averaged, and their mean, whose largest value is {added:.0f} % of the span, is added to every "
               f"image alike: one fixed pattern, not a function of the input. " + prompt_growth(maps, init))
            shown = True
        if not shown:
            md("No MSVP add/full run with seed 0 yet.")

    def saliency(self) -> None:
        shown, agree = False, {}
        for b in self.backbones:
            pair = {label(k): r for k, r in sorted(self._seed0(b).items()) if "maps" in r.get("explanations", {})}
            if not pair:
                continue
            first = next(iter(pair.values()))
            ex = first["explanations"]
            names = [DATASETS[self.dataset].classes[c] for c in ex["labels"]]
            figure(plot_saliency(example_images(first, self.data_root), pair, names,
                                     f"{self._name(b)}: {ex['method']}, seed 0"))
            right = "; ".join(f"{k} {sum(p == y for p, y in zip(r['explanations']['pred'], r['explanations']['labels']))}"
                              f" of {len(r['explanations']['labels'])} right" for k, r in pair.items())
            ref = baseline_reference(self._recs(b, variants=("baseline",)))
            md(f"{backbone_title(b)}, on these example images: {right}. ✓ marks an image the model got right, ✗ "
               f"names its wrong prediction. " + map_agreement(pair) + reference_words(ref))
            if rs := map_rs(pair):
                agree[backbone_title(b)] = (float(np.mean(rs)), ex["method"], ref)
            shown = True
        md(agreement_reading(agree))
        md("The first row of each block shows the first test image of each class; the rows below overlay each "
           "model's map (Grad-CAM on the last convolutional stage for the CNN and ResNet-18 "
           "{cite}`selvaraju2017gradcam`; attention rollout for the ViT {cite}`abnar2020rollout`). Similar maps "
           "mean the prompt did not move the model's evidence."
           if shown else "No saliency maps yet (they are computed for seed 0 when a run finishes).")


    def key_results(self) -> None:
        """The chapter in a few computed lines: per backbone and reading, both arms' accuracy and the
        effect with its verdict in plain words; then the checkpoints and the size of the prompt."""
        if self.df.empty:
            md(f"No finished runs on {self.title} yet: the key results appear here as runs finish.")
            return
        lines = []
        for r in self.paired.itertuples():
            # both arms over the paired seeds only, so that they subtract to the paired difference
            base, msvp = (acc_text(self.df, self.dataset, r.backbone, v, r.seeds) for v in ("baseline", r.treatment))
            lines.append(f"{backbone_title(r.backbone)}, {label(r.treatment)}: baseline {base} %, MSVP "
                         f"{msvp} % on the same {plural(int(r.n_pairs), 'seed')}; paired difference "
                         f"{pp(r.diff_pp)} pp: "
                         f"{plain_verdict(r)}.")
        d = self.df[self.df.variant.isin(MAIN_VARIANTS)].dropna(subset=["best_epoch"])
        if len(d):
            last = int((d.best_epoch.astype(int) == d.epochs.astype(int)).sum())
            lines.append(f"{last} of {len(d)} runs reached their best validation accuracy at the last epoch.")
        lines.append(self._prompt_size_line())
        key_results(lines)

    def _prompt_size_line(self) -> str:
        """The size of the learned prompt, from the seed-0 MSVP add/full run of the first backbone."""
        for b in self.backbones:
            rec = self._seed0(b).get(MAIN)
            if rec and rec.get("prompts"):
                one, added = prompt_shares(rec)
                return (f"The image MSVP adds ({backbone_title(b)}, seed 0: the mean of its upsampled maps) reaches "
                        f"at most {added:.0f} % of the range of the images' pixel values; the largest value of any "
                        f"single map is {one:.0f} %.")
        return ""


def added_image(rec: dict) -> np.ndarray:
    """The (C, H, W) image an additive MSVP prompt adds to every input: its maps upsampled to the image
    size and averaged by msvp's own prompt module, so that the number is the model's, not a re-derivation."""
    import torch

    from msvp.prompting import MultiScalePrompt

    c, h, w = DATASETS[rec["config"]["dataset"]].shape
    p = MultiScalePrompt(c, scales=rec["config"]["prompt"])
    with torch.no_grad():
        for name, values in rec["prompts"].items():
            p.prompts[name].copy_(torch.tensor(values, dtype=torch.float32).unsqueeze(0))
        return torch.stack(p.prompt_maps((h, w))).mean(0)[0].numpy()


def prompt_shares(rec: dict) -> tuple[float, float]:
    """The largest |value| of any single map and of the added image (their mean), in per cent of the
    span of the normalised pixel values: averaging can cancel the maps, so the two differ."""
    lo, hi = _input_bounds(rec["config"]["dataset"])
    one = max(float(np.abs(np.asarray(v, float)).max()) for v in rec["prompts"].values())
    return 100 * one / (hi - lo), 100 * float(np.abs(added_image(rec)).max()) / (hi - lo)


def prompt_growth(maps: dict, init_std: float) -> str:
    """Which map learned most: each map's largest |value| in units of its starting standard deviation,
    beside the median largest |value| its random start alone gives (the median of the maximum of n
    |N(0, 1)| draws, n = the map's size), so that a map near its start is seen to have learned little."""
    from scipy.stats import norm

    parts, growth = [], {}
    for k, v in maps.items():
        growth[k] = float(np.abs(v).max()) / init_std
        start = float(norm.ppf((1 + 0.5 ** (1 / np.size(v))) / 2))
        parts.append(f"{k} grew to {growth[k]:.1f}× (a random start alone gives about {start:.1f}×)")
    top = max(growth, key=growth.get)
    return (f"Largest value of each map, in units of the starting standard deviation: {'; '.join(parts)}. "
            f"The {top} map moved most.")


def map_agreement(pair: dict) -> str:
    """How alike the two models' saliency maps are on the same images: the mean Pearson correlation
    over the example images, so that 'similar maps' is a number, not an impression."""
    rs = map_rs(pair)
    if not rs:
        return ""
    names = " and ".join(pair)
    return (f"The {names} maps correlate at r = {_r(np.mean(rs))} on average over these {len(rs)} images "
            f"(range {_r(min(rs))} to {_r(max(rs))}; 1 means the same map).")


def reference_words(ref: float | None) -> str:
    """The yardstick beside the MSVP-vs-baseline correlation (``baseline_reference``)."""
    if ref is None:
        return ""
    return (f" For scale: the baseline's seeds 0 and 1, neither with a prompt, correlate at r = {_r(ref)} on "
            f"the same images.")


def map_rs(pair: dict) -> list[float]:
    """The Pearson correlation of the two models' maps on each example image (flat maps left out)."""
    maps = [np.asarray(r["explanations"]["maps"], float) for r in pair.values()]
    if len(maps) != 2 or maps[0].shape != maps[1].shape:
        return []
    a, b = (m.reshape(len(m), -1) for m in maps)
    return [float(np.corrcoef(x, y)[0, 1]) for x, y in zip(a, b) if x.std() > 0 and y.std() > 0]


def agreement_reading(agree: dict[str, tuple]) -> str:
    """What a lower map correlation on one backbone can and cannot say. ``agree``: backbone -> (mean r,
    saliency method[, mean r of two baseline seeds]). Two baseline runs without a prompt give the
    yardstick: how far maps drift with the seed alone; without it the reading says it has none. Maps
    of two methods are not on one scale: then no backbone is ranked above another, and each is read
    against its own yardstick only."""
    if len(agree) < 2:
        return ""
    if len({v[1] for v in agree.values()}) > 1:
        return ("The backbones' maps come from different methods, so their r values are not on one scale and "
                "are not ranked against each other; each is read against its own baselines. "
                + " ".join(_own_yardstick(k, v) for k, v in agree.items())
                + " (One pair of seeds and a few example images: a hint, not a test.)")
    lo, hi = min(agree, key=lambda k: agree[k][0]), max(agree, key=lambda k: agree[k][0])
    head = (f"The {lo} maps agree less (r = {_r(agree[lo][0])}) than the {hi} maps (r = {_r(agree[hi][0])}): on "
            f"these images the {lo} trained with MSVP puts its evidence in partly different places from its "
            "baseline. ")
    ref = agree[lo][2] if len(agree[lo]) > 2 else None
    if ref is None or not np.isfinite(ref):
        return (head + "That does not show the prompt moved it: the maps are of seed 0 alone, with no second "
                "baseline seed to show how far two runs' maps differ without any prompt.")
    return (head + f"Two {lo} baselines without a prompt (seeds 0 and 1) agree at r = {_r(ref)} on the same "
            f"images, so the prompt moves the maps {'more' if agree[lo][0] < ref else 'no more'} than a change "
            "of seed does (one pair of seeds and a few example images: a hint, not a test).")


def _own_yardstick(backbone: str, value: tuple) -> str:
    """'ViT-Tiny (attention rollout): MSVP against its baseline r = 0.64, two baselines r = 0.47, so the
    prompt moves the maps no more than a change of seed does.' (or: no second baseline seed)."""
    r, method, *rest = value
    ref = rest[0] if rest else None
    head = f"{backbone} ({method}): MSVP against its baseline r = {_r(r)}"
    if ref is None or not np.isfinite(ref):
        return head + ", with no second baseline seed to compare it with."
    return (head + f", two baselines (seeds 0 and 1) r = {_r(ref)}, so the prompt moves the maps "
            f"{'more' if r < ref else 'no more'} than a change of seed does.")


def baseline_reference(records: list[dict]) -> float | None:
    """Mean map correlation of the baseline's seeds 0 and 1 on the same example images (None if either
    is missing or they explain other images): how alike two runs' maps are with no prompt at all."""
    base = {r["config"]["seed"]: r for r in records if r["variant"] == "baseline"
            and "maps" in r.get("explanations", {})}
    if 0 not in base or 1 not in base:
        return None
    ex0, ex1 = base[0]["explanations"], base[1]["explanations"]
    if ex0.get("test_positions") != ex1.get("test_positions"):
        return None
    rs = map_rs({"seed 0": base[0], "seed 1": base[1]})
    return float(np.mean(rs)) if rs else None


def _r(x: float) -> str:
    return f"{x:.2f}".replace("-", "−")   # the book's typographic minus


def _sd(x: pd.Series):
    return x.std(ddof=1) if len(x) > 1 else None


def _input_bounds(dataset: str) -> tuple[float, float]:
    """The lowest and highest normalised pixel value over the channels."""
    spec = DATASETS[dataset]
    return (min((0 - m) / s for m, s in zip(spec.mean, spec.std)),
            max((1 - m) / s for m, s in zip(spec.mean, spec.std)))


def _input_range(dataset: str) -> str:
    lo, hi = _input_bounds(dataset)
    return f"{pp(lo, 1)} to {pp(hi, 1)}"


def example_images(record: dict, data_root="../data") -> np.ndarray:
    """The uint8 test images (C, H, W) that a record's saliency maps were computed on."""
    from msvp.data import load_dataset
    from msvp.splits import stratified_prefix

    cfg = record["config"]
    data = load_dataset(cfg["dataset"], data_root)
    if data.provenance["variant"] != record["data"]["variant"]:
        raise ValueError(f"the run used the {record['data']['variant']!r} copy of {cfg['dataset']}, "
                         f"but {data_root} holds {data.provenance['variant']!r}")
    idx = stratified_prefix(data.y_test, cfg["test_subset"])[record["explanations"]["test_positions"]]
    return data.x_test[idx].numpy()

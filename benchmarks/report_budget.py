"""The time-to-quality section of docs/benchmarks.md (FMD and synthetic sweeps, their plot)
and the oracles' ceiling (called by :mod:`benchmarks.report`)."""

from __future__ import annotations

import json

from .report_paths import BUDGET_PLOT, DOC, RESULTS, ROOT

#: FMD budget runs against avg50 as it is (before each frame's reference was fitted to it)
ARCHIVED_FMD = RESULTS / "fmd-avg50"
BUDGET_DATA = {
    "fmd": "FMD Confocal BPAE (real noise), FOV 4",
    "synthetic": "synthetic Poisson–Gaussian, calibrated",
}
#: budget-sweep curves: (method file, output key) -> label
BUDGET_CURVES = {
    ("n2v", "denoised"): "N2V",
    ("pn2v", "prior_mean"): "PN2V prior mean",
    ("pn2v", "denoised"): "PN2V MMSE",
    ("pn2v-plain", "denoised"): "PN2V MMSE, PN2V loss alone",
    ("pn2v-published", "denoised"): "PN2V MMSE, published recipe",
}
#: budget runs of the main comparison; other pn2v-* runs are ablations (``--name``)
MAIN_RUNS = {"n2v", "pn2v", "n2v-frames", "pn2v-frames"}


#: settings that result files from before them lack, with what the code did then
LEGACY = {"spread_calibration": False}


def _defaults() -> dict:
    """Every training and network setting's default."""
    from dataclasses import asdict

    from napari_pn2v.backend import ModelConfig, TrainConfig

    return {**asdict(TrainConfig()), **asdict(ModelConfig())}


def _budget_results() -> dict[str, dict[str, list[dict]]]:
    """data set -> run name (the file's: the method, or --name) -> its runs, one per seed."""
    found: dict[str, dict[str, list[dict]]] = {}
    for path in sorted(RESULTS.glob("budget-*.json")):
        result = json.loads(path.read_text())
        name = path.stem.removeprefix(f"budget-{result['data']}-")
        name = name.removesuffix(f"-seed{result.get('seed', 0)}")
        found.setdefault(result["data"], {}).setdefault(name, []).append(result)
    for methods in found.values():
        for runs in methods.values():
            runs.sort(key=lambda r: r.get("seed", 0))
    return found


def _at(runs: list[dict], minutes: float, key: str) -> tuple[float, float]:
    """Mean PSNR over the runs (seeds) at a budget, and its error: the SEM over runs when
    there are several (run-to-run spread dominates), over test frames for a single run."""
    values = [row[key] for run in runs for row in run["rows"] if row["minutes"] == minutes]
    means = [v["psnr"] for v in values]
    mean = sum(means) / len(means)
    if len(means) == 1:
        return mean, values[0]["sem"]
    spread = (sum((m - mean) ** 2 for m in means) / (len(means) - 1)) ** 0.5
    return mean, spread / len(means) ** 0.5


def _budgets(runs: list[dict], every: bool = True) -> list[float]:
    """The budgets every run reached (``every``), or any run."""
    reached = [{r["minutes"] for r in run["rows"]} for run in runs]
    return sorted(set.intersection(*reached) if every else set.union(*reached))


def _reached(runs: list[dict], minutes: float) -> int:
    return sum(any(r["minutes"] == minutes for r in run["rows"]) for run in runs)


def _psnrs(runs: list[dict], key: str) -> str:
    return " / ".join(f"{_at(runs, m, key)[0]:.2f}" for m in _budgets(runs))


def budget_section() -> list[str]:
    """Time to quality: a table per data set, the goal check and one plot."""
    found = _budget_results()
    if not found:
        return []
    lines = [
        "## Time to quality: PSNR after equal training time",
        "",
        "Each run trains one method and snapshots the best model (by validation loss) "
        "when the training clock passes each budget; the snapshots are evaluated "
        "afterwards (`python -m benchmarks.budget`). Same network (depth 3, 64 features, "
        "K = 800) and the CPU preset's batches (4 × 96², lr 5e-4) for every method. N2V "
        "and PN2V ran side by side, one CPU core each (`OMP_NUM_THREADS=1`), so both saw "
        "the same machine load; times are per core. Where a method ran with several "
        "seeds (`--seed`: weights and patches), the table gives the mean over seeds ± its "
        "standard error over seeds (the run-to-run spread); for a single run, ± the SEM "
        "over test images.",
        "",
    ]
    for data, methods in found.items():
        if "n2v" not in methods or "pn2v" not in methods:
            continue
        n2v, pn2v = methods["n2v"], methods["pn2v"]
        # a longer budget may have fewer seeds than the rest: shown, with its count
        budgets = sorted(set(_budgets(n2v, every=False)) & set(_budgets(pn2v, every=False)))
        common = sorted(set(_budgets(n2v)) & set(_budgets(pn2v)))
        some = pn2v[0]
        seeds = (
            f"seeds {', '.join(str(r.get('seed', 0)) for r in n2v)} (N2V) and "
            f"{', '.join(str(r.get('seed', 0)) for r in pn2v)} (PN2V)"
        )
        dates = sorted({r["date"] for r in n2v + pn2v})
        # files from before the field: FMD compared with avg50 as it is (now archived)
        reference = some.get("reference", "avg50 as it is" if data == "fmd" else "the clean scene")
        lines += [
            f"### {BUDGET_DATA[data]}",
            "",
            f"Noisy input {some['input']['psnr']:.2f} dB; {some['input']['frames']} test "
            f"images, each compared with {reference}; {seeds}; {some['machine']}; "
            f"{', '.join(dates)}.",
            "",
            "| training time | steps N2V / PN2V | N2V | PN2V prior mean | PN2V MMSE | "
            "MMSE − N2V | MMSE − prior mean |",
            "|---|---|---|---|---|---|---|",
        ]
        misses = []
        for m in budgets:
            a, prior, b = (
                _at(n2v, m, "denoised"),
                _at(pn2v, m, "prior_mean"),
                _at(pn2v, m, "denoised"),
            )
            steps = [
                [row["steps"] for run in runs for row in run["rows"] if row["minutes"] == m]
                for runs in (n2v, pn2v)
            ]
            gain, over_prior = b[0] - a[0], b[0] - prior[0]
            counts = {_reached(n2v, m), _reached(pn2v, m)}
            label = f"{m:g} min" + (
                "" if m in common else f" ({' / '.join(map(str, sorted(counts)))} seed(s))"
            )
            lines.append(
                f"| {label} | {sum(steps[0]) // len(steps[0])} / "
                f"{sum(steps[1]) // len(steps[1])} | {a[0]:.2f} ± {a[1]:.2f} | "
                f"{prior[0]:.2f} ± {prior[1]:.2f} | {b[0]:.2f} ± {b[1]:.2f} | "
                f"{gain:+.2f} | {over_prior:+.2f} |"
            )
            if (m >= 5 and gain < 0.5) or over_prior < 0:
                misses.append(f"{m:g} min")
        verdict = "**reached**" if not misses else f"**not reached** at {', '.join(misses)}"
        lines += [
            "",
            "Goal (issue 7): PN2V MMSE ≥ N2V + 0.5 dB at every budget from 5 "
            f"minutes up, and MMSE ≥ prior mean at every budget: {verdict}.",
            "",
        ]
        per_seed = [
            f"seed {run.get('seed', 0)}: "
            + " / ".join(
                f"{row['denoised']['psnr']:.2f}" for row in run["rows"] if row["minutes"] in budgets
            )
            for run in (*n2v, *pn2v)
        ]
        if len(n2v) + len(pn2v) > 2:
            lines += [
                f"Single runs at {', '.join(f'{m:g}' for m in budgets)} min (as far as "
                "each run went) — N2V "
                + "; ".join(per_seed[: len(n2v)])
                + "; PN2V MMSE "
                + "; ".join(per_seed[len(n2v) :])
                + " dB.",
                "",
            ]
            runs = [*n2v, *pn2v]
            falls = sum(
                any(
                    later["denoised"]["psnr"] < earlier["denoised"]["psnr"] - 0.3
                    for i, earlier in enumerate(run["rows"])
                    for later in run["rows"][i + 1 :]
                )
                for run in runs
            )
            if falls:
                lines += [
                    f"In {falls} of {len(runs)} runs a later snapshot scored more than "
                    "0.3 dB below an earlier one: at these budgets the validation loss, "
                    "which picks each snapshot, and the PSNR against the ground truth do "
                    "not always agree.",
                    "",
                ]
        else:
            lines += [
                "Caveat: one run per method; single runs at these budgets can differ by "
                "~±1 dB (repeat with `--seed`).",
                "",
            ]
        chosen = [
            f"seed {run.get('seed', 0)}: "
            + " / ".join(
                f"{row['spread_scale']:.2g}" for row in run["rows"] if row["minutes"] in budgets
            )
            for run in pn2v
            if all("spread_scale" in row for row in run["rows"])
        ]
        if chosen:
            lines += [
                "Factor on the prior's spread that each PN2V snapshot predicts with "
                "(chosen by SURE, see docs/method.md), at "
                f"{', '.join(f'{m:g}' for m in budgets)} min — " + "; ".join(chosen) + ".",
                "",
            ]
        holdout = some["training"].get("holdout", "frames")
        lines += [
            f"Validation (which picks each snapshot) holds out: **{holdout}**"
            + (
                " — a strip of rows at the bottom of every training frame, content the "
                "networks never train on."
                if holdout == "region"
                else " — whole frames (here: whole scenes)."
            ),
            "",
        ]
        if {"n2v-frames", "pn2v-frames"} <= methods.keys():
            old = methods["n2v-frames"]
            budgets_old = ", ".join(f"{m:g}" for m in _budgets(old))
            lines += [
                "The same sweep validated on held-out *frames* (the three training "
                "scenes are 50 noisy copies each, so held-out frames show the networks "
                "content they memorise; run on "
                f"{old[0]['date']}), at {budgets_old} min: N2V "
                f"{_psnrs(old, 'denoised')}; PN2V prior mean "
                f"{_psnrs(methods['pn2v-frames'], 'prior_mean')}, MMSE "
                f"{_psnrs(methods['pn2v-frames'], 'denoised')} dB.",
                "",
            ]
        for method in sorted(methods.keys() - MAIN_RUNS):
            if method.startswith("n2v") and method != "n2v-frames":
                runs = methods[method]
                rows = ", ".join(
                    f"{m:g} min: {_at(runs, m, 'denoised')[0]:.2f}" for m in _budgets(runs)
                )
                lines += [
                    f"N2V run `{method}` ({len(runs)} run(s), {runs[0]['date']}, "
                    f"{runs[0].get('machine', '')}) — {rows}.",
                    "",
                ]
            if method.startswith("pn2v"):
                runs = methods[method]
                rows = ", ".join(
                    f"{m:g} min: prior {_at(runs, m, 'prior_mean')[0]:.2f} / "
                    f"MMSE {_at(runs, m, 'denoised')[0]:.2f}"
                    for m in _budgets(runs)
                )
                reference = {**_defaults(), **some["training"]}  # older files lack new keys
                settings = {**LEGACY, **runs[0]["training"]}
                changed = ", ".join(
                    f"{k} = {v}"
                    for k, v in settings.items()
                    if k != "seed" and reference.get(k) != v
                )
                lines += [
                    f"Ablation `{method}` ({changed or 'same settings'}; "
                    f"{len(runs)} run(s), {runs[0]['date']}) — {rows}.",
                    "",
                ]
    if ARCHIVED_FMD.is_dir():
        lines += [
            f"Earlier FMD runs ({len(list(ARCHIVED_FMD.glob('*.json')))} "
            f"files, in `{ARCHIVED_FMD.relative_to(ROOT)}`) compared every test frame "
            "with avg50 as it is and used a noise model from the same unfitted pairs. "
            "FOV 4's first ten frames are 8–10 % dimmer than avg50 at bright pixels, so "
            "those scores rewarded snapshots that happened to brighten structures "
            "(docs/method.md). They are not comparable with the table above.",
            "",
        ]
    _budget_plot(found)
    return [*lines, f"![PSNR against training time]({BUDGET_PLOT.relative_to(DOC.parent)})", ""]


def ceiling_section() -> list[str]:
    """What a pixel's own value could add to the prior: oracles on saved snapshots."""
    paths = sorted(RESULTS.glob("ceiling-*.json"))
    if not paths:
        return []
    lines = [
        "### What the pixel's own value can add",
        "",
        "N2V's output and PN2V's prior mean estimate the same thing (the signal given the "
        "neighbourhood; compare their columns above); PN2V gains over N2V only by weighing "
        "each pixel's own value against its prior. `python -m benchmarks.ceiling` scores "
        "PN2V snapshots saved by the sweep (`--save-models`) against two oracles that use "
        "the clean image: a per-pixel Wiener combination that knows the size of each "
        "pixel's prior error, and the best function of (prior mean, pixel value), fitted "
        "on the scored pixels themselves. Neither is a strict bound (the MMSE uses the "
        "prior's whole shape), but both know far more than any method without clean data. "
        "*Best spread*: the factor on the prior's spread that the clean images find best, "
        "against the one SURE chose. *Corr*: correlation of the prior mean's error with "
        "the pixel's noise (zero for a prior that never saw the pixel). *Spread–error*: "
        "correlation of the prior's spread with the size of its error, which the "
        "posterior relies on. Gains are over the prior mean on the same images.",
        "",
    ]
    for path in paths:
        result = json.loads(path.read_text())
        lines += [
            f"{BUDGET_DATA[result['data']]}, first {result['test_frames']} test images "
            f"against {result['reference']}, {result['date']}"
            + (f", {result['machine']}" if "machine" in result else "")
            + ":",
            "",
            "| time | seed | prior mean | MMSE (SURE spread) | MMSE, best spread "
            "| Wiener oracle | best f(prior mean, x) | corr | spread–error |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            base = row["prior_mean"]
            lines.append(
                f"| {row['minutes']:g} min | {row['seed']} | {base:.2f} | "
                f"{row['mmse'] - base:+.2f} (×{row['spread_scale']:.2g}) | "
                f"{row['mmse_best_spread'] - base:+.2f} (×{row['best_spread']:.2g}) | "
                f"{row['wiener_oracle'] - base:+.2f} | {row['binned_oracle'] - base:+.2f} | "
                f"{row['prior_noise_corr']:.2f} | {row['spread_error_corr']:.2f} |"
            )
        lines.append("")
    return lines


def _budget_plot(found: dict[str, dict[str, list[dict]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(found), figsize=(5 * len(found), 3.9), dpi=110, squeeze=False)
    for ax, (data, methods) in zip(axes[0], found.items(), strict=True):
        # the main comparison only: the ablations' runs are in the tables
        for (method, key), label in BUDGET_CURVES.items():
            if method in methods:
                runs = methods[method]
                budgets = _budgets(runs, every=False)  # a longer budget: fewer seeds
                points = [_at(runs, m, key) for m in budgets]
                seeds = f" ({len(runs)} seeds)" if len(runs) > 1 else ""
                ax.errorbar(
                    budgets,
                    [p[0] for p in points],
                    yerr=[p[1] for p in points],
                    marker="o",
                    capsize=2,
                    label=label + seeds,
                    linestyle="--" if key == "prior_mean" else "-",
                )
        any_method = next(iter(methods.values()))[0]
        ax.axhline(any_method["input"]["psnr"], color="grey", linewidth=0.8, label="input")
        ax.set_xscale("log")
        shown = [methods[m] for m, _ in BUDGET_CURVES if m in methods]
        budgets = sorted({r["minutes"] for runs in shown for run in runs for r in run["rows"]})
        ax.set_xticks(budgets, [f"{b:g}" for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("training time (minutes on one CPU core each)")
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(BUDGET_DATA[data], fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle("PSNR against training time (benchmarks/budget.py; mean ± SEM over seeds)")
    fig.tight_layout()
    BUDGET_PLOT.parent.mkdir(exist_ok=True)
    fig.savefig(BUDGET_PLOT)
    plt.close(fig)

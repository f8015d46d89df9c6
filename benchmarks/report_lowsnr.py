"""The low-SNR section of docs/benchmarks.md: FMD data without calibration, N2V against each
PN2V noise model, and issue 21's levers (called by :mod:`benchmarks.report`)."""

from __future__ import annotations

import json
import re

from .report_paths import RESULTS, read_result

TYPES = ("Confocal_MICE", "TwoPhoton_BPAE_B", "WideField_BPAE_R")
#: method -> how the noise model was made
LOWSNR_METHODS = {
    "pn2v-pg": "PN2V, Poisson–Gaussian estimated from the frames",
    "pn2v-gmm": "PN2V, bootstrapped GMM",
    "pn2v-histogram": "PN2V, bootstrapped histogram",
    "pn2v-frames": "PN2V, histogram of the 4 frames as a calibration stack",
}


def _lowsnr_runs(levers: bool = False) -> dict[str, dict[str, dict]]:
    """The runs by type and method: with the default settings, or (``levers``) those with
    another location weight (``--location-weight``), keyed by method and weight."""
    runs: dict[str, dict[str, dict]] = {}
    for path in sorted(RESULTS.glob("lowsnr-*.json")):
        if path.stem.startswith("lowsnr-before") or ("-lw" in path.stem) != levers:
            continue
        if "-wa" in path.stem:  # averaged weights: :func:`_lowsnr_averaged`
            continue
        if "-br" in path.stem or "-body" in path.stem:  # :func:`_lowsnr_network_levers`
            continue
        if "-seed" in path.stem:  # other seeds: :func:`_lowsnr_seeds`
            continue
        result = json.loads(path.read_text())
        key = f"{result['method']} {result['location_weight']:g}" if levers else result["method"]
        runs.setdefault(result["type"], {})[key] = result
    return runs


def _lowsnr_levers(runs: dict[str, dict[str, dict]]) -> list[str]:
    """Lines on the runs with another location weight, beside the default's."""
    lines = []
    earlier = (read_result("lowsnr-before-skew.json") or {"rows": {}})["rows"]
    for kind, found in _lowsnr_runs(levers=True).items():
        for key, run in found.items():
            method, weight = key.split()
            if "prior_mean_loss" in run:
                default = runs.get(kind, {}).get(method)
                pair = (
                    (default["prior_mean"]["psnr"], default["denoised"]["psnr"])
                    if default
                    else None
                )
            else:  # measured with the earlier code: beside that code's default
                pair = earlier.get(kind, {}).get(method.removeprefix("pn2v-"))
            was = f" (weight 1: {pair[0]:.2f} / {pair[1]:.2f})" if pair else ""
            lines.append(
                f"- {kind}, {LOWSNR_METHODS[method]}, location weight {weight}: prior mean / "
                f"MMSE {run['prior_mean']['psnr']:.2f} / {run['denoised']['psnr']:.2f} dB{was}"
            )
    if not lines:
        return []
    return [
        "",
        "Levers (issue 21), the same protocol with one setting changed; runs of the earlier "
        "code (before the skewed model and the squared-error prior mean) beside that code's "
        "default:",
        "",
        *lines,
    ]


def _scores(run: dict) -> str:
    prior = f"{run['prior_mean']['psnr']:.2f} / " if run.get("prior_mean") else ""
    return prior + f"{run['denoised']['psnr']:.2f}"


def _cpu(run: dict) -> str:
    """Which CPU a run trained on: the same seed trains differently on another CPU (float
    rounding). Runs before 2026-11-30 name none: the Intel Xeon (AMX) of those sessions."""
    machine = run.get("machine", "")
    return (
        f" ({machine[machine.index('(') + 1 : machine.index(')')]})"
        if "(" in machine
        else (" (Intel Xeon)")
    )


def _lowsnr_seeds(runs: dict[str, dict[str, dict]]) -> list[str]:
    """Lines on the runs with other seeds, beside seed 0's."""
    found: dict[tuple[str, str], list[dict]] = {}
    for path in sorted(RESULTS.glob("lowsnr-*-seed*.json")):
        if "-wa" in path.stem or "-lw" in path.stem:
            continue
        result = json.loads(path.read_text())
        found.setdefault((result["type"], result["method"]), []).append(result)
    lines = []
    for (kind, method), results in found.items():
        first = runs.get(kind, {}).get(method)
        every = ([first] if first else []) + sorted(results, key=lambda r: r["seed"])
        label = LOWSNR_METHODS.get(method, "N2V")
        scores = ", ".join(f"seed {r['seed']}{_cpu(r)}: {_scores(r)}" for r in every)
        what = "prior mean / MMSE" if "prior_mean" in every[0] else "denoised"
        mean = {
            "prior_mean": {"psnr": sum(r["prior_mean"]["psnr"] for r in every) / len(every)}
            if "prior_mean" in every[0]
            else None,
            "denoised": {"psnr": sum(r["denoised"]["psnr"] for r in every) / len(every)},
        }
        lines.append(f"- {kind}, {label}, {what}: {scores} dB; mean {_scores(mean)} dB")
    if not lines:
        return []
    return [
        "",
        "Other seeds and CPUs, the same protocol (a seed trains differently on another CPU: "
        "float rounding; the table above is the Intel Xeon's):",
        "",
        *lines,
    ]


def _lowsnr_averaged() -> list[str]:
    """Lines on the runs that kept averaged weights (``--weight-average``), beside the same
    seed's run with the weights as trained."""
    lines = []
    found = [json.loads(path.read_text()) for path in RESULTS.glob("lowsnr-*-wa*.json")]
    # runs with a one-pixel blind spot on correlated noise: beside that code's default
    before = (read_result("lowsnr-before-blind-spot.json") or {"rows": {}})["rows"]
    for run in sorted(found, key=lambda r: (r["type"], r["method"], r["seed"])):
        seed = f"-seed{run['seed']}" if run["seed"] else ""
        trained = read_result(f"lowsnr-{run['type']}-{run['method']}{seed}.json")
        was = ""
        if trained is not None:
            if trained.get("blind_radius") and "blind_radius" not in run:  # code before it
                row = before.get(run["type"], {})
                pair = row.get(run["method"].removeprefix("pn2v-"))
                trained = {
                    "denoised": {"psnr": pair[1] if isinstance(pair, list) else pair},
                    **({"prior_mean": {"psnr": pair[0]}} if isinstance(pair, list) else {}),
                }
            was = f" (as trained: {_scores(trained)})"
        what = "prior mean / MMSE" if run.get("prior_mean") else "denoised"
        spread = f", spread factor {run['spread_scale']:.2f}" if "spread_scale" in run else ""
        lines.append(
            f"- {run['type']}, {LOWSNR_METHODS.get(run['method'], 'N2V')}, seed {run['seed']}, "
            f"{what}: {_scores(run)} dB{was}{spread}"
        )
    if not lines:
        return []
    return [
        "",
        "Averaged weights (issue 21's lever, `--weight-average 100`: the weights validated and "
        "kept are an exponential moving average over ~100 steps), beside the weights as "
        "trained:",
        "",
        *lines,
    ]


def _lowsnr_network_levers(runs: dict[str, dict[str, dict]]) -> list[str]:
    """Lines on the runs with a blind-spot radius set by hand (``--blind-radius``) or another
    weight of the likelihood on the network's body (``--body-weight``), beside the default."""
    lines = []
    for path in sorted([*RESULTS.glob("lowsnr-*-br*.json"), *RESULTS.glob("lowsnr-*-body*.json")]):
        run = json.loads(path.read_text())
        lever = (
            f"blind-spot radius {run['blind_radius']}"
            if "-br" in path.stem
            else f"the likelihood's weight on the body {run['likelihood_body_weight']:g}"
        )
        default = runs.get(run["type"], {}).get(run["method"])
        radius = f", radius {default['blind_radius']}" if default.get("blind_radius") else ""
        was = f" (default{radius}: {_scores(default)})" if default else ""
        what = "prior mean / MMSE" if run.get("prior_mean") else "denoised"
        lines.append(
            f"- {run['type']}, {LOWSNR_METHODS.get(run['method'], 'N2V')}, {lever}, {what}: "
            f"{_scores(run)} dB{was}"
        )
    if not lines:
        return []
    return ["", "The network's levers, one setting changed, beside the default:", "", *lines]


def _run_name(run: dict, variant: str) -> str:
    """ "seed N (CPU)", and the lever of a file name's variant (e.g. "-wa100-seed1-amd")."""
    lever = re.sub(r"-seed\d+.*$", "", variant).strip("-")
    return f"seed {run['seed']}{_cpu(run)}" + (f", {lever}" if lever else "")


def _lowsnr_augmented() -> list[str]:
    """Rows scored with test-time augmentation too (``--augment``), each PN2V row beside the
    N2V row of the same seed and lever, both with and without it."""
    rows = {}
    for path in sorted(RESULTS.glob("lowsnr-*.json")):
        run = json.loads(path.read_text())
        if "augmented" in run:
            variant = path.stem.removeprefix(f"lowsnr-{run['type']}-{run['method']}")
            rows[(run["type"], variant, run["method"])] = run
    if not rows:
        return []
    lines = [
        "",
        "Test-time augmentation (`--augment`: the network run on the 8 rotations and mirror "
        "images of each frame; N2V averages the 8 outputs, PN2V weighs the mixture of the 8 "
        "priors), the same trained models scored both ways; *time*: seconds per 512² frame "
        "on one core, without / with:",
        "",
        "| type | method | run | without: prior mean / MMSE | with | gain | MMSE − N2V, "
        "without / with | time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (kind, variant, method), run in sorted(rows.items()):
        aug = run["augmented"]
        plain, with_ = run["denoised"]["psnr"], aug["denoised"]["psnr"]
        n2v = rows.get((kind, variant, "n2v"))
        versus = "—"
        if n2v is not None and method != "n2v":
            versus = (
                f"{plain - n2v['denoised']['psnr']:+.2f} / "
                f"{with_ - n2v['augmented']['denoised']['psnr']:+.2f}"
            )
        lines.append(
            f"| {kind} | {LOWSNR_METHODS.get(method, 'N2V')} | {_run_name(run, variant)} "
            f"| {_scores(run)} | {_scores(aug)} | {with_ - plain:+.2f} | {versus} | "
            f"{run.get('predict_seconds', float('nan')):.1f} / {aug['predict_seconds']:.1f} |"
        )
    return lines


def lowsnr_section() -> list[str]:
    runs = _lowsnr_runs()
    if not runs:
        return []
    lines = [
        "## Low-SNR data without calibration (`benchmarks/lowsnr.py`)",
        "",
        "FMD test images of three more types (`../shared/data/fmd-lowsnr`), 4 noisy frames "
        "each of one scene and no calibration stack: trained on the 4 frames themselves (the "
        "quick preset's 20 × 25 steps, one core, seed 0), denoised, compared with the 50-frame "
        "average fitted to each frame (gain, offset), range 255; mean of the 4 frames. "
        "*Bound*: the Wiener bound over the prior mean — what a per-pixel combination of "
        "prior mean and pixel could gain at most, knowing each signal band's prior error and "
        "noise (16 bands). *Kept*: the share of pixels whose MMSE the guard kept (the rest "
        "get the prior mean). Four frames of one scene are a small test: differences below "
        "~0.2 dB are noise; a second seed moved N2V by 0.11 dB and PN2V's prior mean by "
        "0.1–0.45 dB on the two-photon data. The tables after the levers hold earlier "
        "code's Poisson–Gaussian and GMM rows; a row marked † would be from earlier code. "
        "The widefield camera's noise is correlated between neighbouring pixels: "
        "its rows hide the 5 × 5 block around each masked pixel in training (the automatic "
        "blind-spot radius, 2) and measure the noise between pixels 3 apart; the rows before "
        "that follow the levers.",
        "",
        "| type | method | input | prior mean | MMSE | MMSE − N2V | MMSE − prior | bound | kept |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in TYPES:
        found = runs.get(kind, {})
        n2v = found.get("n2v")
        if n2v is not None:
            lines.append(
                f"| {kind} | N2V | {n2v['input']['psnr']:.2f} | — | "
                f"{n2v['denoised']['psnr']:.2f} | — | — | "
                f"{n2v['wiener_gain']:.2f} | — |"
            )
        for method, label in LOWSNR_METHODS.items():
            run = found.get(method)
            if run is None:
                continue
            mmse, prior = run["denoised"]["psnr"], run["prior_mean"]["psnr"]
            versus = f"{mmse - n2v['denoised']['psnr']:+.2f}" if n2v else "—"
            label += "" if "prior_mean_loss" in run else " †"
            lines.append(
                f"| {kind} | {label} | {run['input']['psnr']:.2f} | {prior:.2f} | "
                f"{mmse:.2f} | {versus} | {mmse - prior:+.2f} | {run['wiener_gain']:.2f} | "
                f"{100 * run['guard']['trusted_share']:.0f}% |"
            )
    lines += _lowsnr_seeds(runs)
    lines += _lowsnr_levers(runs)
    lines += _lowsnr_averaged()
    lines += _lowsnr_network_levers(runs)
    lines += _lowsnr_augmented()
    for before in (
        "lowsnr-before-blind-spot.json",
        "lowsnr-before-skew.json",
        "lowsnr-before.json",
    ):
        data = read_result(before)
        if data is None:
            continue
        lines += [
            "",
            data["note"],
            "",
            "| type | N2V | PN2V PG: prior / MMSE | PN2V bootstrapped GMM: prior / MMSE |",
            "|---|---|---|---|",
        ]
        for kind, row in data["rows"].items():
            lines.append(
                f"| {kind} | {row['n2v']:.2f} | {row['pg'][0]:.2f} / {row['pg'][1]:.2f} "
                f"| {row['gmm'][0]:.2f} / {row['gmm'][1]:.2f} |"
            )
    notes = [
        f"{kind}, {LOWSNR_METHODS[m]}: {message}"
        for kind, found in runs.items()
        for m, run in found.items()
        if m in LOWSNR_METHODS
        for message in run["guard"]["messages"]
    ]
    if notes:
        lines += ["", "What the guard said:", ""] + [f"- {note}" for note in notes]
    return [*lines, ""]

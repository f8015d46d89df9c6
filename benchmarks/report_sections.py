"""Sections of docs/benchmarks.md for the network size against a time budget, the low-SNR
data without calibration and the viewer's responsiveness (called by :mod:`benchmarks.report`)."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
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
    before = RESULTS / "lowsnr-before-skew.json"
    earlier = json.loads(before.read_text())["rows"] if before.exists() else {}
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
        scores = ", ".join(f"seed {r['seed']}: {_scores(r)}" for r in every)
        what = "prior mean / MMSE" if "prior_mean" in every[0] else "denoised"
        lines.append(f"- {kind}, {label}, {what}: {scores} dB")
    if not lines:
        return []
    return ["", "Other seeds, the same protocol:", "", *lines]


def _lowsnr_averaged() -> list[str]:
    """Lines on the runs that kept averaged weights (``--weight-average``), beside the same
    seed's run with the weights as trained."""
    lines = []
    found = [json.loads(path.read_text()) for path in RESULTS.glob("lowsnr-*-wa*.json")]
    # runs with a one-pixel blind spot on correlated noise: beside that code's default
    earlier = RESULTS / "lowsnr-before-blind-spot.json"
    before = json.loads(earlier.read_text())["rows"] if earlier.exists() else {}
    for run in sorted(found, key=lambda r: (r["type"], r["method"], r["seed"])):
        seed = f"-seed{run['seed']}" if run["seed"] else ""
        plain = RESULTS / f"lowsnr-{run['type']}-{run['method']}{seed}.json"
        was = ""
        if plain.exists():
            trained = json.loads(plain.read_text())
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
    for before in (
        RESULTS / "lowsnr-before-blind-spot.json",
        RESULTS / "lowsnr-before-skew.json",
        RESULTS / "lowsnr-before.json",
    ):
        if not before.exists():
            continue
        data = json.loads(before.read_text())
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


def network_size_section() -> list[str]:
    """The 32- and 64-feature runs of the FMD budget sweep, paired by seed and budget."""
    from napari_pn2v.jobs.training import SHORT_BUDGET_STEPS

    runs: dict[int, dict[int, dict]] = {32: {}, 64: {}}
    for features in runs:
        for path in RESULTS.glob(f"budget-fmd-pn2v-f{features}*.json"):
            data = json.loads(path.read_text())
            runs[features][data["seed"]] = {row["minutes"]: row for row in data["rows"]}
    pairs = [
        (seed, minutes, runs[64][seed][minutes], small[minutes])
        for seed, small in sorted(runs[32].items())
        if seed in runs[64]
        for minutes in sorted(small.keys() & runs[64][seed].keys())
    ]
    if not pairs:
        return []
    lines = [
        "### Network size against the time given (FMD, PN2V)",
        "",
        "The sweep above with 32 and with 64 start features (`--network features=32`), one "
        "core each, side by side, same seed; a 32-feature step costs about a third. The "
        "machine's pace varied between the runs, so the steps each network got say more "
        "than the minutes.",
        "",
        "| seed | minutes | 64 features: steps | MMSE (dB) | 32 features: steps | MMSE (dB) "
        "| 32 − 64 (dB) |",
        "|---|---|---|---|---|---|---|",
    ]
    short, long = [], []  # 32 − 64 where the 64-feature network got few steps, or more
    for seed, minutes, big, small in pairs:
        gain = small["denoised"]["psnr"] - big["denoised"]["psnr"]
        (short if big["steps"] < SHORT_BUDGET_STEPS else long).append(gain)
        lines.append(
            f"| {seed} | {minutes:g} | {big['steps']} | {big['denoised']['psnr']:.2f} | "
            f"{small['steps']} | {small['denoised']['psnr']:.2f} | {gain:+.2f} |"
        )
    lines += [
        "",
        f"Where the 64-feature network got fewer than {SHORT_BUDGET_STEPS} steps the smaller "
        f"one scored higher in {sum(g > 0 for g in short)} of {len(short)} pairs "
        f"(mean {sum(short) / max(len(short), 1):+.2f} dB); with more steps, in "
        f"{sum(g > 0 for g in long)} of {len(long)} (mean "
        f"{sum(long) / max(len(long), 1):+.2f} dB). So training under a time budget measures "
        f"a few steps' pace first and, if the budget gives the network fewer than "
        f"{SHORT_BUDGET_STEPS} steps, trains one of half the features "
        "(`fit_network_to_budget`, on by default).",
        "",
    ]
    return lines


def responsiveness_section() -> list[str]:
    found = sorted(RESULTS.glob("responsiveness*.json"))
    if not found:
        return []
    lines = [
        "## The viewer while the widgets work (`benchmarks/responsiveness.py`)",
        "",
        "A 50 ms timer on napari's GUI thread records how late each tick comes while, on the "
        "sample data, the three widgets build the noise model, train (Quick preset, then "
        "Stop) and denoise; each phase lasts until 1 s after its work ends (a user's next "
        "click), so what the GUI does when a worker returns — a plot appears — counts in its "
        "phase. *result appears* is napari adding the denoised layer, *napari adds a layer* "
        "the same `add_image` alone in the idle viewer afterwards (napari's own cost, which "
        "no plugin avoids). *after docking*: 1.5 s after the training widget docks, a worker "
        "makes the imports a first training makes (torch's first optimiser imports some 800 "
        "modules); the stall there is one full garbage collection of Python (a collection "
        "holds every thread), which those imports set off. Each run is a fresh process under "
        "Xvfb on the 2-core CPU; the longest stall of one run is noisy, so the table gives "
        "the median and the worst of the runs' longest stalls and the median 99th "
        "percentile. Goal ≤ 100 ms on a quiet machine, ≤ 250 ms with another process busy "
        "(a busy loop on one core). While training, the widgets' own work per step is 1–2 ms "
        "of the GUI thread (20–56 ms before their progress bars stopped repainting at once, "
        "measured on 2026-11-29); what remains is napari's window repainting itself (Xvfb "
        "composes the window and its OpenGL canvas in software: ~30 ms a repaint while "
        "training runs on both cores, up to ~50 ms).",
        "",
        "| condition | phase | longest stall, median of runs (ms) | worst run (ms) "
        "| p99 (ms) | longest garbage collection (ms) |",
        "|---|---|---|---|---|---|",
    ]
    runs = [json.loads(path.read_text()) for path in found]
    for data in runs:
        label = f"{data['condition']} ({data['date']}, {data.get('runs', 1)} runs)"
        for phase, row in data["phases"].items():
            lines.append(
                f"| {label} | {phase} | {row['longest_stall_ms']:.0f} | "
                f"{row.get('worst_stall_ms', row['longest_stall_ms']):.0f} | "
                f"{row['p99_stall_ms']:.0f} | {row.get('longest_collection_ms', 0):.0f} |"
            )
    lines.append("")
    for data in runs:
        phases, goal = data["phases"], 100 if data["condition"] == "quiet" else 250
        alone = max(phases[p]["longest_stall_ms"] for p in ("idle", "idle after") if p in phases)
        verdicts = []
        for phase in ("train", "stop", "denoise"):
            if phase in phases:
                row = phases[phase]
                longest, worst = row["longest_stall_ms"], row.get("worst_stall_ms", 0.0)
                verdict = "met" if longest <= goal else "not met"
                if longest <= goal < worst:
                    verdict += f"; not in every run: the worst gave {worst:.0f} ms"
                verdicts.append(f"{phase} {longest:.0f} ms ({verdict})")
        lines.append(
            f"- {data['condition']}: with no worker running the viewer alone stalls up to "
            f"{alone:.0f} ms; while a worker runs, the longest stall (median of runs) against "
            f"the goal of {goal} ms: " + ", ".join(verdicts) + "."
        )
    return [*lines, ""]


MEMORY_CASES = {
    "train-n2v": "N2V training, {size} frames",
    "train-pn2v": "PN2V training, {size} frames",
    "noise-model": "histogram from 50 frames of 512 × {size}",
}


def memory_section() -> list[str]:
    """Peak memory before and after issue 20 (memory-before.json, memory.json)."""
    after_path, before_path = RESULTS / "memory.json", RESULTS / "memory-before.json"
    if not after_path.exists():
        return []
    after = json.loads(after_path.read_text())
    before = {}
    if before_path.exists():
        before = {(r["case"], r["size"]): r for r in json.loads(before_path.read_text())["rows"]}
    lines = [
        "## Memory as the data grows (`benchmarks/memory.py`)",
        "",
        "Synthetic uint8 stacks of 512-pixel-high planes, each case in a fresh process; peak "
        "resident memory, and the peak above the process with the data loaded (imports, "
        f"network and work). {after['machine']}, {after['date']}. *Before*: the code before "
        "issue 20 (training converted the stack to float32, normalised a second copy and "
        "drew its statistics from a third; a calibration stack became float32 pairs).",
        "",
        "| case | data (uint8) | float32 size | peak before | peak | above the data before "
        "| above the data |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in after["rows"]:
        old = before.get((r["case"], r["size"]))
        lines.append(
            f"| {MEMORY_CASES[r['case']].format(size=r['size'])} | {r['data_mib']:.0f} MiB | "
            f"{r['float32_mib']:.0f} MiB | "
            f"{'—' if old is None else format(old['peak_rss_mib'], '.0f') + ' MiB'} | "
            f"{r['peak_rss_mib']:.0f} MiB | "
            f"{'—' if old is None else format(old['above_data_mib'], '.0f') + ' MiB'} | "
            f"{r['above_data_mib']:.0f} MiB |"
        )
    train = sorted((r["size"], r) for r in after["rows"] if r["case"] == "train-n2v")
    if len(train) >= 2:
        (_, small), (_, big) = train[0], train[-1]
        slope = (big["peak_rss_mib"] - small["peak_rss_mib"]) / (
            big["float32_mib"] - small["float32_mib"]
        )
        lines += [
            "",
            f"N2V training's peak grows by {slope:.2f} MiB per MiB of the data's float32 size "
            f"({small['size']} → {big['size']} frames; goal ≤ 1).",
        ]
    return [*lines, ""]


def validation_section() -> list[str]:
    """Validation's share of training time before and after issue 20."""
    rows = {}
    for tag in ("-before", ""):
        path = RESULTS / f"validation{tag}.json"
        if path.exists():
            rows[tag] = {r["mode"]: r for r in json.loads(path.read_text())["rows"]}
    if "" not in rows:
        return []
    lines = [
        "## What validation costs (`benchmarks/validation.py`)",
        "",
        "The quick preset's steps, batches and validation for 5 of its 20 epochs on the 4 "
        "FMD two-photon frames, one core, seed 0 (PN2V: Poisson–Gaussian estimated from the "
        "frames). *Epoch ends*: validation and, before, the spread's choice at every improving "
        "epoch, as a share of training time; *hand-over*: `best_model()` (the guard's check, "
        "and now the spread's one choice). Before: the code before issue 20, measured while "
        "the test suite ran on the other core.",
        "",
        "| network | | training | validation | spread's choice | epoch ends | hand-over |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("n2v", "pn2v"):
        for tag, label in (("-before", "before"), ("", "now")):
            r = rows.get(tag, {}).get(mode)
            if r is None:
                continue
            spread = r["spread_seconds_during_training"] + r["spread_seconds_at_hand_over"]
            lines.append(
                f"| {mode.upper()} | {label} | {r['training_seconds']:.0f} s | "
                f"{r['validation_seconds']:.1f} s | {spread:.1f} s | "
                f"{100 * r['epoch_end_share']:.1f}% | {r['hand_over_seconds']:.1f} s |"
            )
    return [*lines, ""]

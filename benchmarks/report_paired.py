"""docs/benchmarks.md's section on N2V against the default PN2V, paired by seed
(benchmarks/paired.py)."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from .report_paths import RESULTS

TITLE = "## N2V against PN2V without calibration, paired by seed (`benchmarks/paired.py`)"


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def _runs() -> dict[tuple[str, str], list[dict]]:
    """The result files by (type, preset), in seed order."""
    runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for path in sorted(RESULTS.glob("paired-*.json")):
        result = json.loads(path.read_text())
        runs[result["type"], result["preset"]].append(result)
    return {key: sorted(value, key=lambda r: r["seed"]) for key, value in sorted(runs.items())}


def _spread(differences: list[float]) -> str:
    """The paired differences' standard deviation and range, or a word for one seed."""
    if len(differences) < 2:
        return "one seed"
    sd = float(np.std(differences, ddof=1))
    return f"sd {sd:.2f}, {min(differences):+.2f} to {max(differences):+.2f}"


def paired_section() -> list[str]:
    runs = _runs()
    if not runs:
        return []
    lines = [
        TITLE,
        "",
        "What a user without calibration data gets by default (`pn2v train --bootstrap gmm`, "
        "or the widgets' bootstrap): N2V trained on the 4 noisy frames of one FMD type "
        "(`../shared/data/fmd-lowsnr`, FOV 19), a GMM fitted to its predictions, PN2V "
        "trained with it; both scored on the same 4 frames. The bootstrap's N2V is the "
        "paired baseline: the same seed, settings and patches as the PN2V training (a test "
        "checks it equals an N2V trained alone), so *PN2V − N2V* is measured on the same "
        "draw, and its spread over seeds is shown. *Fitted*: against the 50-frame average "
        "fitted to each frame by a gain and an offset (the frames drift); *plain*: against "
        "the 50-frame average as it is, the output clipped to [0, 255] — how the published "
        "FMD numbers are computed. PSNR in dB, range 255, mean of the 4 frames, then of the "
        "seeds. *N2V and PN2V averaged*: the mean of the two networks' outputs, both of which the "
        "default path trains (a lever, not what the plugin gives). Training times: the "
        "bootstrap (N2V, then the fit) and PN2V, one core.",
        "",
        "| type | preset | seeds | input | N2V | PN2V (MMSE) | PN2V − N2V | its spread "
        "| PN2V prior mean | N2V and PN2V averaged | plain: N2V / PN2V "
        "| minutes: bootstrap / PN2V |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    details = []
    for (kind, preset), results in runs.items():
        n2v = [_mean(r["n2v"]["denoised_fitted"]) for r in results]
        pn2v = [_mean(r["pn2v"]["denoised_fitted"]) for r in results]
        prior = [_mean(r["pn2v"]["prior_mean_fitted"]) for r in results]
        # runs before the average was scored have none
        both = [
            _mean(r["n2v_pn2v_average"]["denoised_fitted"])
            for r in results
            if "n2v_pn2v_average" in r
        ]
        plain = [
            (_mean(r["n2v"]["denoised_plain"]), _mean(r["pn2v"]["denoised_plain"])) for r in results
        ]
        differences = [p - n for p, n in zip(pn2v, n2v, strict=True)]
        minutes = (
            _mean([r["bootstrap_seconds"] for r in results]) / 60,
            _mean([r["pn2v_seconds"] for r in results]) / 60,
        )
        noisy = _mean([_mean(r["input_fitted"]) for r in results])
        lines.append(
            f"| {kind} | {preset} | {len(results)} | {noisy:.2f} "
            f"| {_mean(n2v):.2f} | {_mean(pn2v):.2f} | {_mean(differences):+.2f} "
            f"| {_spread(differences)} | {_mean(prior):.2f} "
            f"| {f'{_mean(both):.2f}' if len(both) == len(results) else '—'} "
            f"| {_mean([a for a, _ in plain]):.2f} / {_mean([b for _, b in plain]):.2f} "
            f"| {minutes[0]:.1f} / {minutes[1]:.1f} |"
        )
        seeds = ", ".join(
            f"seed {r['seed']}: {n:.2f} / {p:.2f} ({p - n:+.2f})"
            for r, n, p in zip(results, n2v, pn2v, strict=True)
        )
        machines = sorted({r["machine"] for r in results})
        notes = sorted({r["note"] for r in results if "note" in r})
        details.append(
            f"- {kind}, {preset}, N2V / PN2V: {seeds} — {'; '.join(machines)}"
            + "".join(f"; {note}" for note in notes)
        )
    return [*lines, "", "Each seed:", "", *details, "", *FIELD, ""]


#: how these numbers stand against the published ones
FIELD = [
    "Against the field: the published single-image numbers on FMD quoted to us (Noise2VST, "
    "ICCV 2025: 32.88 dB on Confocal_FISH, 34.06 on TwoPhoton_MICE; Blind2Unblind, CVPR "
    "2022: 32.74 / 34.03) are for other FMD types than these three, and the papers' tables "
    "for Confocal_MICE, TwoPhoton_BPAE_B and WideField_BPAE_R could not be read from where "
    "this was measured, so no number here is set against a published one of its type. Such "
    "numbers compare with the *plain* column: where the frames drift against their average "
    "(TwoPhoton_BPAE_B) it lies some 3.5 dB below the *fitted* one, for every method alike.",
]

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


def _as_earlier(result: dict) -> dict:
    """A file's earlier default path (N2V with random neighbours, PN2V from it) where a later
    run put the current default's arms in its place: the tables of that path stay as
    measured."""
    if "n2v_neighbour" not in result:
        return result
    return result | {
        "n2v": result["n2v_neighbour"],
        "pn2v_from_n2v": result["pn2v_from_n2v_neighbour"],
        "bootstrap_seconds": result["n2v_neighbour"]["train_seconds"],
        "machine": result.get("earlier_machine", result["machine"]),
    }


def _difference(values: list, baseline: list) -> str:
    """The paired difference's mean over the seeds that have both, with its standard
    deviation and range."""
    differences = [v - b for v, b in zip(values, baseline, strict=True) if v is not None]
    if not differences:
        return "—"
    mean = f"{_mean(differences):+.2f}"
    if len(differences) < 2:
        return f"{mean} (one seed)"
    sd = float(np.std(differences, ddof=1))
    seeds = "" if len(differences) == len(values) else f"; {len(differences)} seeds"
    return f"{mean} (sd {sd:.2f}; {min(differences):+.2f} to {max(differences):+.2f}{seeds})"


def _arm(results: list[dict], arm: str, key: str = "denoised_fitted") -> list:
    """Each seed's mean PSNR of one arm, None for a run without it."""
    return [_mean(r[arm][key]) if arm in r else None for r in results]


def _cell(values: list) -> str:
    """The mean over the seeds that have the arm, and how many of them where not all."""
    have = [v for v in values if v is not None]
    if not have:
        return "—"
    part = "" if len(have) == len(values) else f" ({len(have)} of {len(values)} seeds)"
    return f"{_mean(have):.2f}{part}"


def _plain(results: list[dict], arms: tuple[str, str]) -> str:
    """Two arms' means on the plain protocol, "a / b"."""
    return " / ".join(_cell(_arm(results, arm, "denoised_plain")) for arm in arms)


def _minutes(results: list[dict], arms: tuple[str, str]) -> str:
    """Two arms' mean training minutes, "a / b"."""
    return " / ".join(
        f"{_mean([r[arm]['train_seconds'] for r in results]) / 60:.1f}" for arm in arms
    )


INTRO = (
    "What a user without calibration data gets by default (`pn2v train --bootstrap gmm`, or"
    " the widgets' bootstrap): N2V trained on the 4 noisy frames of one FMD type "
    "(`../shared/data/fmd-lowsnr`, FOV 19), a GMM fitted to its predictions, PN2V trained "
    "with it; all scored on the same 4 frames. The bootstrap's N2V is the paired baseline: "
    "the same seed, settings and patches as the PN2V trainings (a test checks it equals an "
    "N2V trained alone), so each difference to N2V is measured on the same draw, shown with"
    " its spread over seeds. Masked pixels show a random neighbour (Noise2Void), and the "
    "guard's SURE ran on the held-out patches alone with the noise model's variance. *PN2V "
    "from N2V* (the default of 2026-12-07 until the median replacement): the network "
    "starts as the bootstrap's N2V and keeps that start unless an epoch's prior mean comes "
    "as close to the validation data (N2V's masked error); *kept start*: in how many seeds "
    "no epoch did. *Unbounded*: the same start without that bound (the default of "
    "2026-12-06); *from scratch*: a fresh network (the default before). *Averaged*: the "
    "mean of N2V's and PN2V-from-scratch's outputs (a lever, not what the plugin gives). "
    "*Fitted*: against the 50-frame average fitted to each frame by a gain and an offset "
    "(the frames drift); *plain*: against the 50-frame average as it is, the output clipped"
    " to [0, 255], as published FMD numbers are computed. PSNR in dB, range 255, mean of "
    "the 4 frames, then of the seeds. Minutes: the bootstrap (N2V, then the fit) and the "
    "PN2V training from it, one core each."
)

#: the PN2V arms, as (result key, column title), the default first
ARMS = (
    ("pn2v_from_n2v", "PN2V from N2V"),
    ("pn2v_from_n2v_unbounded", "unbounded"),
    ("pn2v", "from scratch"),
)


def _kept(results: list[dict], arm: str = "pn2v_from_n2v") -> str:
    """In how many of the seeds with ``arm`` (the default's PN2V) PN2V kept its start from
    N2V."""
    epochs = [r[arm].get("epochs_kept") for r in results if arm in r]
    return f"{sum(e == 0 for e in epochs)} of {len(epochs)}" if epochs else "—"


def paired_section() -> list[str]:
    current = _runs()
    if not current:
        return []
    runs = {key: [_as_earlier(r) for r in results] for key, results in current.items()}
    arms = "".join(f" | {title} | − N2V" for _, title in ARMS)
    lines = [
        TITLE,
        "",
        *_default_section(current),
        "### The default path before: random neighbours",
        "",
        INTRO,
        "",
        f"| type | preset | seeds | input | N2V{arms} | kept start | averaged "
        "| plain: N2V / PN2V from N2V | minutes: bootstrap / PN2V from N2V |",
        "|---|---|---|---|---|" + "---|---|" * len(ARMS) + "---|---|---|---|",
    ]
    details = []
    for (kind, preset), results in runs.items():
        n2v = _arm(results, "n2v")
        values = [_arm(results, key) for key, _ in ARMS]
        seconds = [
            (r["bootstrap_seconds"], r["pn2v_from_n2v"]["train_seconds"])
            for r in results
            if "pn2v_from_n2v" in r
        ]
        noisy = _mean([_mean(r["input_fitted"]) for r in results])
        cells = [kind, preset, str(len(results)), f"{noisy:.2f}", _cell(n2v)]
        for value in values:
            cells += [_cell(value), _difference(value, n2v)]
        cells += [
            _kept(results),
            _cell(_arm(results, "n2v_pn2v_average")),
            _plain(results, ("n2v", "pn2v_from_n2v")),
            " / ".join(f"{_mean(list(s)) / 60:.1f}" for s in zip(*seconds, strict=True)) or "—",
        ]
        lines.append(_row(cells))
        seeds = ", ".join(
            f"seed {r['seed']}: "
            + " / ".join("—" if c[i] is None else f"{c[i]:.2f}" for c in (n2v, *values))
            for i, r in enumerate(results)
        )
        machines = sorted({r["machine"] for r in results})
        notes = sorted({r["note"] for r in results if "note" in r})
        notes += [
            f"the unbounded and from-scratch arms, run before: {note}"
            for note in sorted({r["earlier_note"] for r in results if "earlier_note" in r})
        ]
        titles = " / ".join(["N2V", *(title for _, title in ARMS)])
        details.append(f"- {kind}, {preset}, {titles}: {seeds} — " + "; ".join(machines + notes))
    extra = [*_n2v2_section(runs), *_n2v2_parts(runs)]
    return [*lines, "", "Each seed:", "", *details, "", *extra, *FIELD, ""]


DEFAULT_INTRO = (
    "The default path now (`paired.py --no-scratch`): the same bootstrap and PN2V from its "
    "N2V as below, with masked pixels that show the median of their 5 × 5 neighbours (N2V2's "
    "replacement) in both trainings, and the guard's SURE over 131 k pixels (the held-out "
    "patches, then training ones) with the noise variance the images show (docs/method.md). "
    "Paired by seed with the N2V of the same run, and with the earlier default (random "
    "neighbours; the table after this one) of the same seed. *Prior mean*: PN2V's prior mean"
    " alone; PN2V gives the MMSE only in bands where SURE shows it clearly better. "
    "WideField_BPAE_R's correlated noise hides a 5 × 5 block that takes random pixels of "
    "the patch, so there only the guard changed. PSNR in dB against the 50-frame average "
    "fitted to each frame (range 255), mean of the 4 frames, then of the seeds; *plain*: "
    "against the average as it is, clipped to [0, 255]. Minutes: one core each, with two or "
    "three runs (and for part of the time a test run or a diagnostic) sharing the machine's "
    "2 cores: up to twice a free core's. On a free core the same bootstrap took 5.6 min and "
    "PN2V from it 7.6 min with SURE on 16 k pixels; SURE on 131 k pixels took 2.5 min of a "
    "shared core."
)


def _default_section(runs: dict[tuple[str, str], list[dict]]) -> list[str]:
    """The current default path (files where it replaced the earlier one), paired by seed."""
    head = _head(
        "### The default path: the median replacement",
        DEFAULT_INTRO,
        "type | preset | seeds | input | N2V | PN2V | − N2V | prior mean | kept start "
        "| earlier default: N2V / PN2V | N2V − earlier N2V | PN2V − earlier PN2V "
        "| plain: N2V / PN2V | minutes: bootstrap / PN2V",
    )
    rows, details = [], []
    for kind, preset, results in _holding(runs, "n2v_neighbour"):
        n2v, pn2v = _arm(results, "n2v"), _arm(results, "pn2v_from_n2v")
        before = [_arm(results, arm) for arm in ("n2v_neighbour", "pn2v_from_n2v_neighbour")]
        noisy = _mean([_mean(r["input_fitted"]) for r in results])
        cells = [kind, preset, ", ".join(str(r["seed"]) for r in results), f"{noisy:.2f}"]
        cells += [_cell(n2v), _cell(pn2v), _difference(pn2v, n2v)]
        cells += [_cell(_arm(results, "pn2v_from_n2v", "prior_mean_fitted")), _kept(results)]
        cells += [
            " / ".join(_cell(v) for v in before),
            _difference(n2v, before[0]),
            _difference(pn2v, before[1]),
            _plain(results, ("n2v", "pn2v_from_n2v")),
            _minutes(results, ("n2v", "pn2v_from_n2v")),
        ]
        rows.append(_row(cells))
        seeds = ", ".join(
            f"seed {r['seed']}: {n2v[i]:.2f} / {pn2v[i]:.2f}" for i, r in enumerate(results)
        )
        machines = sorted({f"{r['machine']}, {r['date']}" for r in results})
        details.append(f"- {kind}, {preset}, N2V / PN2V: {seeds} — " + "; ".join(machines))
    if not rows:
        return []
    return [*_table(head, rows), "Each seed:", "", *details, ""]


def _holding(runs: dict[tuple[str, str], list[dict]], *arms: str):
    """(type, preset, the seeds' results that hold any of ``arms``), where there are any."""
    for (kind, preset), every in runs.items():
        results = [r for r in every if any(arm in r for arm in arms)]
        if results:
            yield kind, preset, results


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _head(title: str, intro: str, columns: str) -> list[str]:
    """A table's heading, text and column titles (``columns``: "a | b | c")."""
    count = columns.count("|") + 1
    return [title, "", intro, "", f"| {columns} |", "|" + "---|" * count]


def _table(head: list[str], rows: list[str]) -> list[str]:
    """``head`` (title, text, column titles, rule) and ``rows``; nothing without rows."""
    return [*head, *rows, ""] if rows else []


N2V2_INTRO = (
    "N2V2's changes (Höck et al. 2022; `--n2v2 --replacement median`, *N2V2 network* and "
    "*Masked pixels show* under *Advanced*): max-blur pooling and no skip at full resolution"
    " in the network, and masked pixels that show their neighbours' median instead of a "
    "random neighbour (WideField_BPAE_R's correlated noise hides a 5 × 5 block around each "
    "masked pixel, which takes random pixels of the patch: there only the network changes). "
    "The same default path (`paired.py --n2v2`): the bootstrap's N2V with them, PN2V started"
    " from it with them; the same seeds as the table above, so each difference is paired "
    "with that seed's N2V and PN2V. Minutes: one core each, two runs side by side, a test "
    "run or a diagnostic sharing the 2 cores for part of the time."
)


def _n2v2_section(runs: dict[tuple[str, str], list[dict]]) -> list[str]:
    """N2V2's arms beside the plain N2V and PN2V of the same seeds."""
    head = _head(
        "### N2V2's changes, paired by seed",
        N2V2_INTRO,
        "type | preset | seeds | N2V | N2V2 | N2V2 − N2V | PN2V from N2V | PN2V from N2V2 "
        "| − PN2V from N2V | − N2V | kept start | plain: N2V2 / PN2V from N2V2 "
        "| minutes: bootstrap / PN2V",
    )
    rows = []
    for kind, preset, results in _holding(runs, "pn2v_from_n2v2"):
        n2v, n2v2 = _arm(results, "n2v"), _arm(results, "n2v2")
        pn2v, pn2v2 = _arm(results, "pn2v_from_n2v"), _arm(results, "pn2v_from_n2v2")
        kept = sum(r["pn2v_from_n2v2"].get("epochs_kept") == 0 for r in results)
        cells = [
            kind,
            preset,
            str(len(results)),
            _cell(n2v),
            _cell(n2v2),
            _difference(n2v2, n2v),
            _cell(pn2v),
            _cell(pn2v2),
            _difference(pn2v2, pn2v),
            _difference(pn2v2, n2v),
            f"{kept} of {len(results)}",
            _plain(results, ("n2v2", "pn2v_from_n2v2")),
            _minutes(results, ("n2v2", "pn2v_from_n2v2")),
        ]
        rows.append(_row(cells))
    return _table(head, rows)


def _n2v2_parts(runs: dict[tuple[str, str], list[dict]]) -> list[str]:
    """N2V2's network and median replacement one at a time, beside both; PN2V started from
    the median's N2V beside PN2V from the plain N2V."""
    head = [
        "N2V2's two changes one at a time (`paired.py --n2v2 network`, `--n2v2 median`), each "
        "paired with the same seed's N2V; PN2V started from the median's N2V paired with PN2V "
        "from the plain N2V (the default path with only the replacement changed):",
        "",
        "| type | preset | seeds | N2V | both − N2V | network only − N2V | median only − N2V "
        "| PN2V from N2V | PN2V from median's N2V − PN2V from N2V | − N2V "
        "| probe: PN2V with random neighbours from median's N2V − that N2V |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = []
    for kind, preset, results in _holding(runs, "n2v2_network", "n2v2_median"):
        n2v, pn2v = _arm(results, "n2v"), _arm(results, "pn2v_from_n2v")
        median_pn2v = _arm(results, "pn2v_from_n2v2_median")
        cells = [kind, preset, ", ".join(str(r["seed"]) for r in results), _cell(n2v)]
        cells += [_difference(_arm(results, arm), n2v) for arm in N2V2_ARMS]
        cells += [_cell(pn2v), _difference(median_pn2v, pn2v), _difference(median_pn2v, n2v)]
        probe = _arm(results, "pn2v_neighbour_from_n2v2_median")
        cells.append(_difference(probe, _arm(results, "n2v2_median")))
        rows.append(_row(cells))
    return _table(head, rows)


#: N2V2's N2V arms: both changes, the network's alone, the median replacement alone
N2V2_ARMS = ("n2v2", "n2v2_network", "n2v2_median")


#: how these numbers stand against the published ones
FIELD = [
    "Against the field: the published single-image numbers on FMD quoted to us (Noise2VST, "
    "ICCV 2025: 32.88 dB on Confocal_FISH, 34.06 on TwoPhoton_MICE; Blind2Unblind, CVPR "
    "2022: 32.74 / 34.03) are for other FMD types than these three, and the papers' tables "
    "for Confocal_MICE, TwoPhoton_BPAE_B and WideField_BPAE_R could not be read from where "
    "this was measured, so no number here is set against a published one of its type; the "
    "field's FM2S, run from its own code on the same frames (the next table), stands in for"
    " them. Such "
    "numbers compare with the *plain* column: where the frames drift against their average "
    "(TwoPhoton_BPAE_B) it lies some 3.5 dB below the *fitted* one, for every method alike. "
    "The one published number for a dev-set type at hand is not single-image: PN2V's own "
    "notebook on Confocal_MICE (Krull et al., juglab/pn2v; a histogram noise model from "
    "calibration data, trained on the type's 19 training fields of view, tested on FOV 19's "
    "frames against avg50, range 255) gives 37.52 dB for the prior mean and 38.18 for the "
    "MMSE (its Mouse notebooks); the default path here, "
    "trained on the 4 test frames alone in about a quarter of an hour of one CPU core, is "
    "about 0.5 dB below that MMSE on the plain protocol.",
]

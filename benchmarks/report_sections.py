"""Sections of docs/benchmarks.md for the network size against a time budget, the viewer's
responsiveness, memory and validation (called by :mod:`benchmarks.report`)."""

from __future__ import annotations

import json

from .report_paths import RESULTS, read_result


def network_size_section() -> list[str]:
    """The 32- and 64-feature runs of the FMD budget sweep, paired by seed and budget."""
    from napari_pn2v.backend.training.config import SHORT_BUDGET_STEPS

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
    after = read_result("memory.json")
    if after is None:
        return []
    earlier = (read_result("memory-before.json") or {"rows": []})["rows"]
    before = {(r["case"], r["size"]): r for r in earlier}
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
        data = read_result(f"validation{tag}.json")
        if data is not None:
            rows[tag] = {r["mode"]: r for r in data["rows"]}
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

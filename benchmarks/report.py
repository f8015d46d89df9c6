"""Collect benchmarks/results/*.json into docs/benchmarks.md and its plot.

    python -m benchmarks.report

`benchmarks/run_all.sh` measures everything and then calls this.
"""

from __future__ import annotations

import json

from .report_budget import budget_section, ceiling_section
from .report_field import field_section
from .report_lowsnr import lowsnr_section
from .report_paired import paired_section
from .report_paths import DOC, PLOT, RESULTS
from .report_precision import precision_section
from .report_readme import update_readme
from .report_sections import (
    memory_section,
    network_size_section,
    responsiveness_section,
    validation_section,
)
from .report_shuffle import shuffle_section
from .report_speed import scaling_section, speed_section, three_d_section
from .report_start_rate import start_rate_section

VARIANTS = (
    "GMM of the (raw, avg50) pairs",
    "Poisson–Gaussian estimated from the raw frames",
    "bootstrapped GMM (no calibration data)",
)
ROW_ORDER = (
    "input",
    "VST + BM3D",
    "N2V",
    "PN2V prior mean",
    "PN2V (MMSE)",
    *(f"PN2V ({what}), {variant}" for variant in VARIANTS for what in ("prior mean", "MMSE")),
    "supervised U-Net",
)


def _quality_section(preset: str) -> list[str]:
    rows: dict[str, dict] = {}
    meta: dict[str, dict] = {}
    for path in sorted(RESULTS.glob(f"quality-{preset}-*.json")):
        result = json.loads(path.read_text())
        for name, row in result["rows"].items():
            rows[name] = row
            meta[name] = result
    if not rows:
        return []
    lines = [
        f"### Preset `{preset}`",
        "",
        "| method | PSNR (dB) | ± SEM | test frames | training time | prediction per frame "
        "| run on |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(rows, key=lambda n: ROW_ORDER.index(n) if n in ROW_ORDER else 99):
        row, result = rows[name], meta[name]
        train = f"{result['train_seconds'] / 60:.1f} min" if "train_seconds" in result else "—"
        per_frame = result.get("predict_seconds_per_frame", result.get("seconds_per_frame"))
        per_frame = f"{per_frame:.2f} s" if per_frame is not None else "—"
        lines.append(
            f"| {name} | {row['psnr']:.2f} | {row['sem']:.2f} | {row['frames']} | "
            f"{train} | {per_frame} | {result['date']} |"
        )
    notes: dict[str, list[str]] = {}
    for name in rows:
        if "note" in meta[name]:
            notes.setdefault(meta[name]["note"], []).append(name)
    legacy = [
        name
        for name in rows
        if name.startswith("PN2V") and "spread_calibration" not in meta[name].get("training", {})
    ]
    if legacy:
        notes[
            "measured before the prior's spread was chosen for prediction (docs/method.md): "
            "they predict with the spread as trained"
        ] = legacy
    if notes:
        lines += ["", *(f"- {', '.join(names)}: {note}." for note, names in notes.items())]
    trained = [r for r in meta.values() if "training" in r]
    if trained:
        t = trained[0]["training"]
        lines += [
            "",
            f"Training budget of every learned method: {t['epochs']} epochs × "
            f"{t['steps_per_epoch']} steps × batch {t['batch_size']} of "
            f"{t['patch_size']}² patches ({t['patches_seen']:,} patches), "
            f"learning rate {t['lr']}, U-Net depth {t['depth']}, {t['features']} "
            f"features, K = {t['samples']} for PN2V. "
            f"Machine: {trained[0]['machine']}. Rows over different numbers of "
            "test frames compare within their SEM (the frames are noisy copies of "
            "one scene).",
            "",
            "Caveat: FOV 4's frames drift in brightness against their average (the "
            "first ones 8–10 % dimmer at bright pixels), so these rows — avg50 as it is, "
            "the paper's protocol — count part of that drift as error, and the PN2V rows "
            "used a noise model of the unfitted (raw, avg50) pairs, which the drift "
            "widens. The time-to-quality sweep below compares each frame with avg50 "
            "fitted to it.",
        ]
    if {"N2V", "PN2V (MMSE)", "supervised U-Net"} <= rows.keys():
        gain = rows["PN2V (MMSE)"]["psnr"] - rows["N2V"]["psnr"]
        gap = rows["supervised U-Net"]["psnr"] - rows["PN2V (MMSE)"]["psnr"]
        verdict = "reached" if gain >= 0.5 and gap <= 0.3 else "not reached"
        lines += [
            "",
            f"Goal (issue 4): PN2V ≥ N2V + 0.5 dB and within 0.3 dB of the supervised "
            f"U-Net at the same budget. Measured: PN2V − N2V = {gain:+.2f} dB, "
            f"supervised − PN2V = {gap:+.2f} dB: **{verdict}**.",
        ]
    _plot(rows, preset)
    return [*lines, "", f"![PSNR per method]({PLOT.relative_to(DOC.parent)})", ""]


def _plot(rows: dict[str, dict], preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ROW_ORDER if n in rows]
    fig, ax = plt.subplots(figsize=(10, 0.3 * len(names) + 1.4), dpi=100)
    values = [rows[n]["psnr"] for n in names]
    ax.barh(names, values, xerr=[rows[n]["sem"] for n in names], color="#4f81bd")
    ax.set_xlim(min(values) - 1.0, max(values) + 1.0)
    ax.invert_yaxis()
    ax.set_xlabel("PSNR (dB) against the 50-frame average, mean ± SEM over test frames")
    fig.suptitle(
        f"Denoising quality on real confocal noise: FMD Confocal BPAE, FOV 4 "
        f"(benchmarks/quality.py, {preset} preset)",
        fontsize=10,
    )
    for y, v in enumerate(values):
        ax.text(v + 0.05, y, f"{v:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    fig.savefig(PLOT)
    plt.close(fig)


#: each section's heading (its start) -> the one command that measures it again; then
#: ``python -m benchmarks.report`` rewrites the page
REPEAT = {
    "Denoising quality": "`python -m benchmarks.quality` (every method, CPU preset; "
    "`--method NAME` for one, `--preset gpu` on a GPU)",
    "Time to quality": "`python -m benchmarks.budget --data fmd --method pn2v --minutes "
    "2,5,15 --seed 0` for one run (`--data synthetic`, `--method n2v`; the sweep of seeds "
    "and `python -m benchmarks.ceiling` are in `benchmarks/run_all.sh`)",
    "N2V against PN2V without calibration": "`python -m benchmarks.paired --type "
    "Confocal_MICE --seed 0` for one type and seed (`--preset paper` for the default preset)",
    "Low-SNR data": "`python -m benchmarks.lowsnr --type Confocal_MICE --method pn2v-pg "
    "--seed 0` for one row",
    "The viewer while": "`xvfb-run -a python -m benchmarks.responsiveness`",
    "Speed and memory": "`python -m benchmarks.speed` (`--noise-models`, `--precision`, "
    "`--augment` for the tables below)",
    "Prediction as the data grows": "`python -m benchmarks.scaling`",
    "Memory as the data grows": "`python -m benchmarks.memory`",
    "What validation costs": "`python -m benchmarks.validation`",
    "2-D or 3-D network": "`python -m benchmarks.three_d`",
}


def with_repeat_lines(lines: list[str]) -> list[str]:
    """``lines`` with, under each section's heading, the command that measures it again."""
    out = []
    for line in lines:
        out.append(line)
        title = line.removeprefix("## ")
        command = next((c for start, c in REPEAT.items() if title.startswith(start)), None)
        if line.startswith("## ") and command:
            out += ["", f"Measure again: {command}, then `python -m benchmarks.report`."]
    return out


def main() -> None:
    lines = [
        "# Benchmarks",
        "",
        "Regenerate with `bash benchmarks/run_all.sh` (measures, then runs "
        "`python -m benchmarks.report`). Numbers are from one run on the machine named; "
        "compare ratios, not absolute times, across machines.",
        "",
        "## Denoising quality on real microscope noise",
        "",
        "FMD Confocal BPAE (nuclei): train self-supervised on the raw frames of FOV 1–3, "
        "test on the 50 raw frames of FOV 4 against their 50-frame average, PSNR with "
        "range 255, mean ± SEM over test frames. PN2V uses the histogram noise model of "
        "(raw, average) pairs of FOV 1–3 (256 bins over [−0.5, 255.5), so the integer avg50 "
        "values are bin centres); the supervised U-Net "
        "trains on the same pairs; BM3D runs after a generalised Anscombe transform whose "
        "Poisson–Gaussian parameters are fitted on those pairs.",
        "",
    ]
    lines += [
        "Rows measured on different days used the code of that day: N2V, the supervised "
        "U-Net and BM3D have not changed since 2026-11-23; every PN2V row from "
        "2026-11-24 on has the location loss and the centred bins. The three PN2V rows "
        "with a noise model made without a histogram of calibration data (issue 5) show "
        "what calibration data is worth. Every PN2V row here and in the time-to-quality "
        "sweep predates the prior mean learned from the squared error alone and the skewed "
        "Poisson–Gaussian estimate (issue 21, 2026-11-29; method.md), except the runs "
        "named `*-amd-s30` in the time-to-quality sweep (one seed each, on another CPU).",
        "",
    ]
    for preset in ("cpu", "gpu"):
        lines += _quality_section(preset)
    lines += budget_section()
    lines += network_size_section()
    lines += ceiling_section()
    lines += paired_section()
    lines += field_section()  # the paired section's last text points to it as the next table
    lines += precision_section()
    lines += start_rate_section()
    lines += shuffle_section()
    lines += lowsnr_section()
    lines += responsiveness_section()
    lines += speed_section()
    lines += scaling_section()
    lines += memory_section()
    lines += validation_section()
    lines += three_d_section()
    DOC.write_text("\n".join(with_repeat_lines(lines)).rstrip() + "\n")
    print(f"wrote {DOC}")
    update_readme()
    print("wrote README.md's benchmark summary")


if __name__ == "__main__":
    main()

"""Collect benchmarks/results/*.json into docs/benchmarks.md and its plot.

    python -m benchmarks.report

`benchmarks/run_all.sh` measures everything and then calls this.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "images" / "benchmark_quality.png"
ROW_ORDER = ("input", "VST + BM3D", "N2V", "PN2V prior mean", "PN2V (MMSE)",
             "supervised U-Net")
#: MACs per pixel of one forward pass of the depth-3, 64-feature U-Net body (counted by hand
#: from its layers; the K=800 head adds 51 k at the pixels it runs on)
BODY_MMAC_PER_PIXEL = 0.384


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
    lines = [f"### Preset `{preset}`", "",
             "| method | PSNR (dB) | ± SEM | test frames | training time | prediction per frame |",
             "|---|---|---|---|---|---|"]
    for name in sorted(rows, key=lambda n: ROW_ORDER.index(n) if n in ROW_ORDER else 99):
        row, result = rows[name], meta[name]
        train = f"{result['train_seconds'] / 60:.1f} min" if "train_seconds" in result else "—"
        per_frame = result.get("predict_seconds_per_frame", result.get("seconds_per_frame"))
        per_frame = f"{per_frame:.2f} s" if per_frame is not None else "—"
        lines.append(f"| {name} | {row['psnr']:.2f} | {row['sem']:.2f} | {row['frames']} | "
                     f"{train} | {per_frame} |")
    trained = [r for r in meta.values() if "training" in r]
    if trained:
        t = trained[0]["training"]
        lines += ["", f"Training budget of every learned method: {t['epochs']} epochs × "
                      f"{t['steps_per_epoch']} steps × batch {t['batch_size']} of "
                      f"{t['patch_size']}² patches ({t['patches_seen']:,} patches), "
                      f"learning rate {t['lr']}, U-Net depth {t['depth']}, {t['features']} "
                      f"features, K = {t['samples']} for PN2V. "
                      f"Machine: {trained[0]['machine']}; run on {trained[0]['date']}."]
    if {"N2V", "PN2V (MMSE)", "supervised U-Net"} <= rows.keys():
        gain = rows["PN2V (MMSE)"]["psnr"] - rows["N2V"]["psnr"]
        gap = rows["supervised U-Net"]["psnr"] - rows["PN2V (MMSE)"]["psnr"]
        verdict = "reached" if gain >= 0.5 and gap <= 0.3 else "not reached"
        lines += ["", f"Goal (issue 4): PN2V ≥ N2V + 0.5 dB and within 0.3 dB of the supervised "
                      f"U-Net at the same budget. Measured: PN2V − N2V = {gain:+.2f} dB, "
                      f"supervised − PN2V = {gap:+.2f} dB: **{verdict}**."]
    _plot(rows, preset)
    return [*lines, "", f"![PSNR per method]({PLOT.relative_to(DOC.parent)})", ""]


def _plot(rows: dict[str, dict], preset: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in ROW_ORDER if n in rows]
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
    values = [rows[n]["psnr"] for n in names]
    ax.barh(names, values, xerr=[rows[n]["sem"] for n in names], color="#4f81bd")
    ax.set_xlim(min(values) - 1.0, max(values) + 1.0)
    ax.invert_yaxis()
    ax.set_xlabel("PSNR (dB), FMD Confocal BPAE FOV 4, 50 raw frames")
    ax.set_title(f"Denoising quality, preset '{preset}'")
    for y, v in enumerate(values):
        ax.text(v + 0.05, y, f"{v:.2f}", va="center", fontsize=8)
    fig.tight_layout()
    PLOT.parent.mkdir(exist_ok=True)
    fig.savefig(PLOT)
    plt.close(fig)


def prediction_macs(size: int) -> float:
    """MACs of predicting a size² image with the default tiles: body over the tiles' pixels,
    the 64 → 802 head over the image's pixels."""
    import numpy as np

    from napari_pn2v.backend import ModelConfig, PN2VModel, TiledPrediction

    model = PN2VModel(ModelConfig(mode="n2v"), 0.0, 1.0)  # same tile plan as PN2V
    run = TiledPrediction(model, np.zeros((size, size), np.float32))
    (tile_y, core_y), (tile_x, core_x) = run._grid
    tiles = -(-size // core_y) * -(-size // core_x)
    return tiles * tile_y * tile_x * BODY_MMAC_PER_PIXEL * 1e6 + size * size * 64 * 802


def _speed_section() -> list[str]:
    path = RESULTS / "speed.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    r = data["results"]
    peak = r["matmul"]["gflops"]
    gib = 1024

    def step(name: str, batch: int) -> str:
        x = r[name]
        floor = 3 * 2 * BODY_MMAC_PER_PIXEL * 1e6 * batch * 100 * 100 / (peak * 1e9)
        return (f"{x['seconds']:.2f} s | {floor:.2f} s | {x['gflops']:.0f} GFLOP/s "
                f"({100 * x['gflops'] / peak:.0f} % of matmul peak) | "
                f"{x['peak_rss_mib'] / gib:.2f} GiB")

    def pred(name: str, size: int) -> str:
        x = r[name]
        floor = 2 * prediction_macs(size) / (peak * 1e9)
        return (f"{x['seconds']:.2f} s ({x['mpixel_per_s']:.3f} Mpixel/s) | {floor:.2f} s | "
                f"{100 * floor / x['seconds']:.0f} % of the floor's speed | "
                f"{x['peak_rss_mib'] / gib:.2f} GiB (image and its 3 outputs: "
                f"{size * size * 16 / 2**30:.3f} GiB)")
    lines = [
        "## Speed and memory", "",
        f"{data['machine']}, torch {data['torch']}, {data['date']}. Medians of repeated runs "
        "(7 for batch 4 and prediction at 512², fewer for the slow cases); each case in a fresh "
        "process, peak = its maximum resident memory. Paper configuration: depth 3, 64 "
        "features, K = 800, 100² patches; prediction with tiles 256 / overlap 48.", "",
        "| case | time | floor | achieved | peak memory |", "|---|---|---|---|---|",
        f"| training step, batch 4, masked-pixel head | {step('train_b4_sparse', 4)} |",
        f"| training step, batch 4, dense head (published) | {step('train_b4_dense', 4)} |",
        f"| training step, batch 80, masked-pixel head | {step('train_b80_sparse', 80)} |",
        f"| training step, batch 80, dense head (published) | {step('train_b80_dense', 80)} |",
        f"| MMSE prediction 512² | {pred('predict_512', 512)} |",
        f"| MMSE prediction 2048² | {pred('predict_2048', 2048)} |",
        "",
        f"Matmul peak measured in the same run: {peak:.0f} GFLOP/s (best of 4096² float32 "
        "matmuls). *Floor* is the network's own arithmetic at that peak: the U-Net body "
        f"costs {BODY_MMAC_PER_PIXEL} MMAC per pixel forward (≈ 3× with the backward pass); "
        "prediction runs the body on every pixel of its tiles (overlaps included) and the "
        "K = 800 head on each image pixel once. Achieved GFLOP/s of a training step counts "
        "the FLOPs torch's FlopCounterMode reports for it (forward and backward).", "",
        "Targets (issue 4) on this 2-core machine: a batch-4 training step ≤ 1.0 s and a "
        "512² prediction ≤ 3 s (the published implementation: ≈ 3–4 s and ≈ 32–35 s here), "
        "peak memory ≤ 1 GiB for either.", "",
    ]
    return lines


def main() -> None:
    lines = ["# Benchmarks", "",
             "Regenerate with `bash benchmarks/run_all.sh` (measures, then runs "
             "`python -m benchmarks.report`). Numbers are from one run on the machine named; "
             "compare ratios, not absolute times, across machines.", "",
             "## Denoising quality on real microscope noise", "",
             "FMD Confocal BPAE (nuclei): train self-supervised on the raw frames of FOV 1–3, "
             "test on the 50 raw frames of FOV 4 against their 50-frame average, PSNR with "
             "range 255, mean ± SEM over test frames. PN2V uses the histogram noise model of "
             "(raw, average) pairs of FOV 1–3 (256 bins over [0, 256)); the supervised U-Net "
             "trains on the same pairs; BM3D runs after a generalised Anscombe transform whose "
             "Poisson–Gaussian parameters are fitted on those pairs.", ""]
    for preset in ("cpu", "gpu"):
        lines += _quality_section(preset)
    lines += _speed_section()
    DOC.write_text("\n".join(lines).rstrip() + "\n")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()

"""The README's benchmark summary, written from the same result files as docs/benchmarks.md,
so that no number in the README is copied by hand (called by :mod:`benchmarks.report`)."""

from __future__ import annotations

import json

from .report_paths import RESULTS, ROOT, read_result

README = ROOT / "README.md"
BEGIN = "<!-- benchmarks:begin (written by python -m benchmarks.report) -->"
END = "<!-- benchmarks:end -->"
#: the FMD quality rows the README shows, in this order
SHOWN = ("input", "VST + BM3D", "N2V", "PN2V (MMSE)", "supervised U-Net")


def _quality_rows() -> list[str]:
    rows, dates = {}, {}
    for path in sorted(RESULTS.glob("quality-cpu-*.json")):
        result = json.loads(path.read_text())
        for name, row in result["rows"].items():
            rows[name], dates[name] = row, result.get("date", "—")
    lines = [
        "| FMD Confocal BPAE, FOV 4 (`python -m benchmarks.quality`) | PSNR (dB) | ± SEM "
        "| measured |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {rows[name]['psnr']:.2f} | {rows[name]['sem']:.2f} | {dates[name]} |"
        for name in SHOWN
        if name in rows
    ]
    return lines


def _speed_lines() -> list[str]:
    speed = read_result("speed.json")
    if speed is None:
        return []
    results = speed["results"]
    step, predict = results["train_b4_sparse"], results["predict_512"]
    return [
        f"Speed on {speed['machine']} (torch {speed['torch']}, {speed['date']}, "
        "`python -m benchmarks.speed`): a batch-4 training step at the paper's configuration "
        f"{step['seconds']:.2f} s; a 512² MMSE prediction at K = 800 {predict['seconds']:.1f} s, "
        f"peak {predict['peak_rss_mib']:.0f} MiB of memory.",
    ]


def readme_summary() -> list[str]:
    """The lines between the README's markers."""
    return [
        BEGIN,
        "",
        *_quality_rows(),
        "",
        *_speed_lines(),
        "",
        END,
    ]


def update_readme() -> None:
    """Replace the README's summary between its markers with the results' numbers."""
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(head + "\n".join(readme_summary()) + tail, encoding="utf-8")

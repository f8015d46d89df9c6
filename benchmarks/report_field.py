"""docs/benchmarks.md's table of the field's FM2S beside the default path, on the same frames
(benchmarks/field.py, benchmarks/paired.py)."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np

from .report_paired import _arm, _cell, _difference, _holding, _mean, _row, _runs
from .report_paths import RESULTS

TITLE = "### Against the field: FM2S on the same frames (`benchmarks/field.py`)"

INTRO = (
    "FM2S (Liu, Teng, Ma, Jiang, arXiv 2412.10031, 2024–25; a 3.5 k-parameter network "
    "trained on one noisy image alone, in seconds on a GPU by its paper) is among the "
    "field's newest zero-shot denoisers. Its repository's FMD test set holds the same 4 "
    "frames per type as `../shared/data/fmd-lowsnr`, byte for byte. So its own code "
    "(github.com/Danielement321/FM2S at afc05d8, not part of this project), run with the "
    "config its `main.py` names for the microscope and its seed, gives its protocol's "
    "numbers for these types here. Each frame is denoised on its own. Scored as the "
    "default path above: *plain* against the 50-frame average as it is (how published FMD "
    "numbers are computed; FM2S's output is 8-bit), *fitted* against the average fitted to"
    " each frame. N2V and PN2V: the default path (the median replacement) in float32, mean"
    " of the seeds; on WideField_BPAE_R the default path now trains on pixel-shuffled "
    "sub-images, set against FM2S in the table *Pixel shuffle for correlated noise* below."
    " *PN2V − FM2S*: over the seeds, with their spread (FM2S has one run). Minutes: "
    "for all 4 frames, one core each: FM2S trains once per frame (4 × its median frame); "
    "the default path trains once on the 4 frames (bootstrap, then PN2V). FM2S's frames ran"
    " two at a time on the machine's 2 cores, for part of the time beside one or two "
    "diagnostic trainings, as the default path's runs shared the cores: up to twice a free"
    " core's time either way. Measure again: `python -m benchmarks.field --fm2s CHECKOUT "
    "--type Confocal_MICE` (FM2S needs einops and scipy)."
)


def _fm2s() -> dict[str, dict[str, dict]]:
    """FM2S's per-frame scores by type, merged over its result files."""
    frames: dict[str, dict[str, dict]] = defaultdict(dict)
    for path in sorted(RESULTS.glob("field-fm2s-*.json")):
        result = json.loads(path.read_text())
        frames[result["type"]].update(result["frames"])
    return dict(frames)


def field_section() -> list[str]:
    fm2s = _fm2s()
    if not fm2s:
        return []
    lines = [
        TITLE,
        "",
        INTRO,
        "",
        "| type | preset | seeds | FM2S frames | FM2S plain | PN2V plain | − FM2S "
        "| N2V plain | FM2S fitted | PN2V fitted | − FM2S | N2V fitted "
        "| minutes: FM2S / bootstrap + PN2V |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, preset, results in _holding(_runs(), "n2v_neighbour"):
        if kind not in fm2s:
            continue
        frames = fm2s[kind]
        cells = [kind, preset, ", ".join(str(r["seed"]) for r in results), str(len(frames))]
        for key in ("denoised_plain", "denoised_fitted"):
            theirs = _mean([f[key] for f in frames.values()])
            pn2v = _arm(results, "pn2v_from_n2v", key)
            cells += [
                f"{theirs:.2f}",
                _cell(pn2v),
                _difference(pn2v, [theirs] * len(pn2v)),
                _cell(_arm(results, "n2v", key)),
            ]
        ours = _mean(
            [r["n2v"]["train_seconds"] + r["pn2v_from_n2v"]["train_seconds"] for r in results]
        )
        theirs = float(np.median([f["seconds"] for f in frames.values()])) * 4
        cells.append(f"{theirs / 60:.0f} / {ours / 60:.0f}")
        lines.append(_row(cells))
    return [*lines, ""]

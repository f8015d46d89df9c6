"""docs/benchmarks.md's table of the default path trained in bfloat16 beside float32, paired
by seed (benchmarks/paired.py --precision bfloat16)."""

from __future__ import annotations

from .report_paired import (
    _arm,
    _cell,
    _difference,
    _head,
    _holding,
    _minutes,
    _row,
    _runs,
    _table,
)

TITLE = "### Training in bfloat16 on a CPU with AMX units (`paired.py --precision bfloat16`)"

INTRO = (
    "On a CPU with AMX units (Intel Xeons since Sapphire Rapids) `precision` *auto* trains "
    "the U-Net's body in bfloat16 (docs/method.md); elsewhere in float32, the arithmetic of "
    "every other table here. The same default path, the same seeds and patches, trained in "
    "bfloat16: each difference is paired with that seed's float32 run. Prediction stays "
    "float32 on a CPU. PSNR in dB against the 50-frame average fitted to each frame (range "
    "255), mean of the 4 frames, then of the seeds. Minutes: the bootstrap (its N2V, then the"
    " fit) and PN2V from it, one core each, two runs sharing the machine's 2 cores (the "
    "float32 runs: up to three, and for part of the time a test run)."
)


def precision_section(precision: str = "bfloat16") -> list[str]:
    n2v_arm, pn2v_arm = f"n2v_{precision}", f"pn2v_from_n2v_{precision}"
    head = _head(
        TITLE,
        INTRO,
        f"type | preset | seeds | float32: N2V / PN2V | {precision}: N2V / PN2V "
        f"| N2V: {precision} − float32 | PN2V: {precision} − float32 | {precision}: PN2V − N2V "
        f"| minutes float32: bootstrap / PN2V | minutes {precision}: bootstrap / PN2V",
    )
    rows = []
    for kind, preset, results in _holding(_runs(), pn2v_arm):
        n2v, pn2v = _arm(results, "n2v"), _arm(results, "pn2v_from_n2v")
        fast_n2v, fast_pn2v = _arm(results, n2v_arm), _arm(results, pn2v_arm)
        cells = [kind, preset, ", ".join(str(r["seed"]) for r in results)]
        cells += [f"{_cell(n2v)} / {_cell(pn2v)}", f"{_cell(fast_n2v)} / {_cell(fast_pn2v)}"]
        cells += [
            _difference(fast_n2v, n2v),
            _difference(fast_pn2v, pn2v),
            _difference(fast_pn2v, fast_n2v),
            _minutes(results, ("n2v", "pn2v_from_n2v")),
            _minutes(results, (n2v_arm, pn2v_arm)),
        ]
        rows.append(_row(cells))
    return _table(head, rows)

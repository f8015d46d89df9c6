"""docs/benchmarks.md's table of PN2V from N2V trained on at a fraction of the learning rate
beside the full rate, paired by seed (benchmarks/paired.py --precision bfloat16
--start-lr-factor F)."""

from __future__ import annotations

from .paired import in_precision, start_rate_arm
from .report_paired import (
    _arm,
    _cell,
    _difference,
    _head,
    _holding,
    _kept,
    _minutes,
    _row,
    _runs,
    _table,
)

INTRO = (
    "PN2V from N2V trained on at a fraction of the learning rate (`start_lr_factor`, "
    "`--start-lr-factor`; a lever, the default stays the full rate: docs/method.md) beside "
    "the full rate. The same default path in the same "
    "arithmetic (bfloat16: this machine's default; float32: the other CPUs'), the same seeds "
    "and patches, so each difference is paired with that seed's run at the full rate (the "
    "tables above) and its N2V (the same network, reproduced exactly). *Prior mean*: PN2V's "
    "prior mean alone; *kept start*: in how many seeds no epoch came as close to the "
    "validation data as the start. PSNR in dB against the 50-frame average fitted to each "
    "frame (range 255), mean of the 4 frames, then of the seeds. Minutes: PN2V's training, "
    "one core each; the bfloat16 runs two at a time on the machine's 2 cores, the float32 "
    "runs three at a time beside a diagnostic: up to twice a free core's."
)


#: the fraction measured (``paired.py --start-lr-factor``)
FACTOR = 0.2


def start_rate_section(factor: float = FACTOR) -> list[str]:
    head = _head(
        f"### PN2V from N2V at {factor:g} × the learning rate (`paired.py --start-lr-factor`)",
        INTRO,
        f"type | arithmetic | preset | seeds | N2V | PN2V: full rate / {factor:g} × "
        f"| {factor:g} × − full rate | {factor:g} ×: PN2V − N2V | {factor:g} ×: prior mean − N2V"
        f" | kept start: full rate / {factor:g} × | minutes: full rate / {factor:g} ×",
    )
    rows = []
    for precision in ("bfloat16", "float32"):
        rows += _rows(precision, factor)
    return _table(head, rows)


def _rows(precision: str, factor: float) -> list[str]:
    """A row per type and preset with PN2V from N2V at ``factor`` in ``precision``."""
    n2v_arm, full = (in_precision(arm, precision) for arm in ("n2v", "pn2v_from_n2v"))
    slow = start_rate_arm(precision, factor)
    rows = []
    for kind, preset, results in _holding(_runs(), slow):
        results = [r for r in results if slow in r and full in r]
        n2v, before, after = (_arm(results, arm) for arm in (n2v_arm, full, slow))
        prior = _arm(results, slow, "prior_mean_fitted")
        cells = [kind, precision, preset, ", ".join(str(r["seed"]) for r in results), _cell(n2v)]
        cells += [
            f"{_cell(before)} / {_cell(after)}",
            _difference(after, before),
            _difference(after, n2v),
            _difference(prior, n2v),
            f"{_kept(results, full)} / {_kept(results, slow)}",
            _minutes(results, (full, slow)),
        ]
        rows.append(_row(cells))
    return rows

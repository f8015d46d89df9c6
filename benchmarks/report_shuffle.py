"""docs/benchmarks.md's table of the default path with pixel shuffle for correlated noise
beside the same path on the images themselves, and FM2S (benchmarks/paired.py --precision
bfloat16 --variant shuffled; benchmarks/field.py)."""

from __future__ import annotations

from .report_field import _fm2s
from .report_paired import (
    _arm,
    _cell,
    _difference,
    _head,
    _holding,
    _kept,
    _mean,
    _minutes,
    _row,
    _runs,
    _table,
)

TITLE = "### Pixel shuffle for correlated noise (`paired.py --variant shuffled`)"

INTRO = (
    "Where the images' noise correlates between neighbouring pixels (of the three types, "
    "WideField_BPAE_R's), `shuffle` *auto* trains on the sub-images of every s-th pixel, s "
    "the smallest stride whose sub-images' noise no longer correlates (3 here), and averages "
    "each estimate with its neighbours' over one pixel of every sub-image (docs/method.md); "
    "elsewhere it leaves the images as they are (stride 1: the tables above). The same default"
    " path in bfloat16 (this machine's default), the same seeds: each difference is paired "
    "with that seed's run on the images themselves (*before*: the blind-spot radius 2 the "
    "noise asked for). *Prior mean*: PN2V's prior mean alone; *kept start*: in how many seeds"
    " no epoch came as close to the validation data as the start. FM2S: its own code on the "
    "same frames (the table *Against the field*). PSNR in dB against the 50-frame average "
    "fitted to each frame (range 255; *plain*: as it is, the output clipped to [0, 255]), mean"
    " of the 4 frames, then of the seeds. Minutes: the bootstrap (its N2V, then the fit) and "
    "PN2V from it, one core each, two runs sharing the machine's 2 cores (for part of the "
    "time beside a test run)."
)

#: the variant's arms (``paired.py --variant``) and the runs on the images themselves
SHUFFLED = ("n2v_bfloat16_shuffled", "pn2v_from_n2v_bfloat16_shuffled")
BEFORE = ("n2v_bfloat16", "pn2v_from_n2v_bfloat16")


def shuffle_section() -> list[str]:
    head = _head(
        TITLE,
        INTRO,
        "type | preset | seeds | before: N2V / PN2V | shuffled: N2V / PN2V | N2V − before "
        "| PN2V − before | shuffled: PN2V − N2V | prior mean | kept start | FM2S | PN2V − FM2S "
        "| plain: PN2V / FM2S | minutes before: bootstrap / PN2V | minutes shuffled",
    )
    fm2s = _fm2s()
    rows = []
    for kind, preset, results in _holding(_runs(), SHUFFLED[1]):
        results = [r for r in results if SHUFFLED[1] in r]
        n2v, pn2v = (_arm(results, arm) for arm in SHUFFLED)
        old_n2v, old_pn2v = (_arm(results, arm) for arm in BEFORE)
        cells = [kind, preset, ", ".join(str(r["seed"]) for r in results)]
        cells += [f"{_cell(old_n2v)} / {_cell(old_pn2v)}", f"{_cell(n2v)} / {_cell(pn2v)}"]
        cells += [_difference(n2v, old_n2v), _difference(pn2v, old_pn2v), _difference(pn2v, n2v)]
        cells += [
            _cell(_arm(results, SHUFFLED[1], "prior_mean_fitted")),
            _kept(results, SHUFFLED[1]),
        ]
        cells += _against(fm2s.get(kind), pn2v, _arm(results, SHUFFLED[1], "denoised_plain"))
        cells += [_minutes(results, BEFORE), _minutes(results, SHUFFLED)]
        rows.append(_row(cells))
    return _table(head, rows)


def _against(frames: dict | None, pn2v: list, plain: list) -> list[str]:
    """FM2S's mean over its frames (fitted), PN2V's paired difference to it, and both plain."""
    if not frames:
        return ["—", "—", "—"]
    fitted, theirs = (
        _mean([f[k] for f in frames.values()]) for k in ("denoised_fitted", "denoised_plain")
    )
    return [
        f"{fitted:.2f}",
        _difference(pn2v, [fitted] * len(pn2v)),
        f"{_cell(plain)} / {theirs:.2f}",
    ]

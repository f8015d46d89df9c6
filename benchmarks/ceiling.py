"""How much can a pixel's own value add to PN2V's prior? Yardsticks on saved snapshots.

N2V's output and PN2V's prior mean estimate the same thing, the signal given the pixel's
neighbourhood; PN2V gains over N2V only by weighing the pixel's own value x against its prior
(the MMSE). This measures, on snapshots saved by ``benchmarks.budget --save-models DIR``, how
large that gain is and how large it could be, with the clean images in hand:

- the MMSE with the spread factor the trainer chose (SURE, no clean data) and with the factor
  that the clean images find best;
- a per-pixel Wiener oracle, ŝ = m + w·(x − m) with w = e² / (e² + v), which knows the size e²
  of each pixel's prior error (m: prior mean, v: the noise model's variance at the signal);
- the best function of (m, x) alone: the clean signal's mean in 32 × 32 quantile bins of m and
  (x − m) / √v(m), fitted on the very pixels it is scored on.

Neither oracle bounds the MMSE strictly (the MMSE uses the prior's whole shape), but both know
far more than any method without clean data. Also recorded: the correlation between the prior
mean's error and the pixel's noise (zero for a prior that never saw the pixel), and between the
prior's spread and the size of its error (what the posterior relies on to weigh the pixel).

    python -m benchmarks.budget --data fmd --method pn2v --minutes 2,5,15 --save-models M
    python -m benchmarks.ceiling --models M

Writes benchmarks/results/ceiling-<data>.json for each data set with snapshots in M.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
import torch

from napari_pn2v.backend import PN2VModel, predict
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.network.prior import CHUNK_VALUES, posterior
from napari_pn2v.backend.training.spread import SCALES, features

from .budget import REFERENCE, fmd_data, synthetic_data
from .quality import RESULTS, cpu_name

#: quantile bins per axis of the best-function-of-(m, x) oracle
BINS = 32
SNAPSHOT = re.compile(
    r"(?P<data>fmd|synthetic)-(?P<method>[\w.-]+)-seed(?P<seed>\d+)-"
    r"(?P<minutes>[\d.]+)min\.pt"
)


@torch.no_grad()
def by_spread(
    model: PN2VModel, image: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[float, np.ndarray]]:
    """Prior mean, prior std (as trained) and the MMSE estimate at every factor of SCALES on
    the prior's spread."""
    x = torch.as_tensor(image.astype(np.float32))
    model.net.eval()
    feats = features(model, x[None])
    observed = x.reshape(-1, 1)
    chunk = max(1, CHUNK_VALUES // model.config.out_channels)
    means, stds, estimates = [], [], {c: [] for c in SCALES}
    for start in range(0, len(observed), chunk):
        part = slice(start, start + chunk)
        prior = model.prior(model.net.head_at(feats[part]), calibrated=False)
        means.append(prior.scaled(0.0).loc[:, 0])
        stds.append(prior.scale[:, 0] * prior.u.std(1))
        for c in SCALES:
            estimates[c].append(
                posterior(model.noise_model, prior.scaled(c), observed[part])["denoised"]
            )
    return (
        torch.cat(means).view(x.shape).numpy(),
        torch.cat(stds).view(x.shape).numpy(),
        {c: torch.cat(e).view(x.shape).numpy() for c, e in estimates.items()},
    )


def quantile_bins(values: np.ndarray) -> np.ndarray:
    edges = np.quantile(values, np.linspace(0, 1, BINS + 1)[1:-1])
    return np.searchsorted(edges, values)


def evaluate(model: PN2VModel, tests: list, data_range: float) -> dict:
    noise = model.noise_model
    score = lambda clean, values: psnr(clean, values, data_range)  # noqa: E731
    rows: dict[str, list[float]] = {}
    pooled: dict[str, list[np.ndarray]] = {"m": [], "x": [], "s": []}
    for noisy, clean in tests:
        out = predict(model, noisy)
        mean, std, estimates = by_spread(model, noisy)
        x, s = noisy.astype(np.float64), clean.astype(np.float64)
        m = mean.astype(np.float64)
        v = noise.variance(torch.as_tensor(clean.astype(np.float32))).double().numpy()
        e2 = (m - s) ** 2
        wiener = m + e2 / (e2 + v) * (x - m)
        for key, values in (
            ("input", noisy),
            ("prior_mean", out["prior_mean"]),
            ("mmse", out["denoised"]),
            ("wiener_oracle", wiener),
        ):
            rows.setdefault(key, []).append(score(clean, values))
        for c, values in estimates.items():
            rows.setdefault(f"mmse@{c:.3g}", []).append(score(clean, values))
        rows.setdefault("prior_noise_corr", []).append(
            float(np.corrcoef((m - s).ravel(), (x - s).ravel())[0, 1])
        )
        rows.setdefault("spread_error_corr", []).append(
            float(np.corrcoef(std.ravel(), np.abs(m - s).ravel())[0, 1])
        )
        for key, values in (("m", m), ("x", x), ("s", s)):
            pooled[key].append(values.ravel())
    m, x, s = (np.concatenate(pooled[k]) for k in ("m", "x", "s"))
    z = (x - m) / np.sqrt(noise.variance(torch.as_tensor(m.astype(np.float32))).double().numpy())
    cell = quantile_bins(m) * BINS + quantile_bins(z)
    shift = np.bincount(cell, weights=s - m, minlength=BINS**2) / np.maximum(
        np.bincount(cell, minlength=BINS**2), 1
    )
    binned = (m + shift[cell]).reshape(len(tests), -1)
    rows["binned_oracle"] = [score(clean.ravel(), binned[i]) for i, (_, clean) in enumerate(tests)]
    best = max(SCALES, key=lambda c: np.mean(rows[f"mmse@{c:.3g}"]))
    result = {
        key: float(np.mean(values)) for key, values in rows.items() if not key.startswith("mmse@")
    }
    result.update(
        spread_scale=model.spread_scale,
        best_spread=best,
        mmse_best_spread=float(np.mean(rows[f"mmse@{best:.3g}"])),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        type=Path,
        required=True,
        help="folder of snapshots from benchmarks.budget --save-models",
    )
    parser.add_argument("--test-frames", type=int, default=3)
    args = parser.parse_args()
    found: dict[str, list[tuple[dict, Path]]] = {}
    for path in sorted(args.models.glob("*.pt")):
        match = SNAPSHOT.fullmatch(path.name)
        if match and not match["method"].startswith("n2v"):
            found.setdefault(match["data"], []).append((match.groupdict(), path))
    if not found:
        raise SystemExit(
            f"no PN2V snapshots named <data>-<method>-seedN-<M>min.pt in {args.models}"
        )
    RESULTS.mkdir(exist_ok=True)
    for data, snapshots in found.items():
        _, _, tests, data_range = (fmd_data if data == "fmd" else synthetic_data)(args.test_frames)
        rows = []
        for info, path in sorted(snapshots, key=lambda t: float(t[0]["minutes"])):
            row = {
                "method": info["method"],
                "seed": int(info["seed"]),
                "minutes": float(info["minutes"]),
                **evaluate(PN2VModel.load(path), tests, data_range),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        out = RESULTS / f"ceiling-{data}.json"
        out.write_text(
            json.dumps(
                {
                    "data": data,
                    "date": time.strftime("%Y-%m-%d"),
                    "machine": cpu_name(),
                    "reference": REFERENCE[data],
                    "test_frames": args.test_frames,
                    "rows": rows,
                },
                indent=2,
            )
        )
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Prediction as the data grows 1× → 16×: peak memory must stay flat, time linear.

    python -m benchmarks.scaling          # ~3 min on 2 CPU cores

A stack of N planes of 512² (N = 1, 4, 16) is denoised with the paper's PN2V network
(depth 3, 64 features, K = 800; random weights: speed and memory do not depend on them)
three ways, each in a fresh process so its peak resident memory is its own:
``lazy`` — read from zarr tile by tile, written to zarr as computed (what `pn2v predict
--format zarr` and the widget do with lazy data); ``memory`` — the stack and the result held in
memory, for comparison. zarr on both sides, because memory-mapped files count their touched
pages as resident memory although the kernel may drop them at any time.
Writes benchmarks/results/scaling.json; `python -m benchmarks.report` adds it to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .speed import PAPER_NET, RESULTS, _noise_model, _peak_rss_mib, in_fresh_processes

PLANE = 512
CASES = [("lazy", 1), ("lazy", 4), ("lazy", 16), ("memory", 1), ("memory", 16)]


def run_case(how: str, planes: int) -> dict:
    import zarr

    from napari_pn2v.backend import ModelConfig, PN2VModel, predict
    from napari_pn2v.backend.data.stores import OutputFiles

    torch.manual_seed(0)
    model = PN2VModel(ModelConfig(**PAPER_NET), mean=300.0, std=100.0, noise_model=_noise_model())
    rng = np.random.default_rng(0)
    folder = Path(tempfile.mkdtemp(prefix="pn2v-scaling-"))
    source = zarr.open_array(
        folder / "in.zarr",
        mode="w",
        shape=(planes, PLANE, PLANE),
        chunks=(1, 256, 256),
        dtype=np.uint16,
    )
    for i in range(planes):  # written plane by plane: the input never sits in memory
        source[i] = rng.integers(150, 600, (PLANE, PLANE), dtype=np.uint16)
    predict(model, np.asarray(source[0, :256, :256]), device="cpu")  # warm-up
    baseline = _peak_rss_mib()
    start = time.perf_counter()
    if how == "lazy":
        files = OutputFiles(folder, "out", ["denoised"], source.shape, "zarr")
        predict(model, source, device="cpu", outputs={"prior_mean": None, "std": None, **files})
        files.commit()
    else:
        predict(
            model, np.asarray(source[:]), device="cpu", outputs={"prior_mean": None, "std": None}
        )
    seconds = time.perf_counter() - start
    return {
        "how": how,
        "planes": planes,
        "megapixels": planes * PLANE**2 / 1e6,
        "seconds": seconds,
        "seconds_per_plane": seconds / planes,
        "rss_before_mib": baseline,
        "peak_rss_mib": _peak_rss_mib(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # internal: one case
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    in_fresh_processes(
        "benchmarks.scaling",
        CASES,
        RESULTS / "scaling.json",
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        plane=PLANE,
    )


if __name__ == "__main__":
    main()

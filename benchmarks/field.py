"""The field's zero-shot denoiser FM2S on the low-SNR dev set, run from its own code.

FM2S (Liu, Teng, Ma, Jiang; arXiv 2412.10031, github.com/Danielement321/FM2S) trains a
3.5 k-parameter network on one noisy image alone, in seconds on a GPU. Its repository's FMD test
set holds the same 4 frames per type as ../shared/data/fmd-lowsnr, byte for byte. So its code,
run with the type's config from its own ``main.py``, reproduces its paper's protocol on our data.
It runs on the same machine as ``benchmarks.paired`` and is scored the same two ways (fitted and
plain). Its code is not part of this project: pass a checkout (it needs einops and scipy).

    python -m benchmarks.field --fm2s PATH --type Confocal_MICE [--frames 1 2] [--seed 3407]

Writes benchmarks/results/field-fm2s-<type>[-frames-1-2].json, one entry per frame. The report
merges a type's files by frame.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .lowsnr import TYPES
from .paired import _frames, scores
from .quality import RESULTS, cpu_name

#: FM2S's ``main.py``: the config named by the microscope (``-c``)
CONFIGS = {
    "Confocal": "CONFOCAL_CONFIG",
    "TwoPhoton": "TWOPHOTON_CONFIG",
    "WideField": "WIDEFIELD_CONFIG",
}
#: the seed FM2S sets when its module loads, once per image in its ``main.py``
SEED = 3407


def result_path(kind: str, frames: list[int] | None) -> Path:
    tag = f"-frames-{'-'.join(map(str, frames))}" if frames else ""
    return RESULTS / f"field-fm2s-{kind}{tag}.json"


def _fm2s(checkout: Path):
    """FM2S's denoising function and its configs module, imported from ``checkout``, and the
    SHA-256 of the two files (which code was measured)."""
    sys.path.insert(0, str(checkout))
    method = importlib.import_module("FM2S").FM2S
    configs = importlib.import_module("configs")
    digests = {
        name: hashlib.sha256((checkout / name).read_bytes()).hexdigest()[:16]
        for name in ("FM2S.py", "configs.py")
    }
    return method, configs, digests


def run(checkout: Path, kind: str, frames: list[int] | None, seed: int) -> dict:
    """FM2S on each chosen frame of ``kind`` (1-based), seeded as its ``main.py`` does."""
    method, configs, digests = _fm2s(checkout)
    config = getattr(configs, CONFIGS[kind.split("_")[0]])
    raw, fitted, average, _ = _frames(kind)
    chosen = frames or list(range(1, len(raw) + 1))
    per_frame = {}
    for number in chosen:
        frame = raw[number - 1]
        torch.manual_seed(seed)
        start = time.perf_counter()
        out = np.asarray(method(frame, config), dtype=np.float32)
        seconds = time.perf_counter() - start
        scored = scores([{"denoised": out}], fitted[number - 1 : number], average)
        per_frame[str(number)] = {key: value[0] for key, value in scored.items()}
        per_frame[str(number)]["seconds"] = seconds
        print(f"{kind} frame {number}: {per_frame[str(number)]}", flush=True)
    return {
        "type": kind,
        "method": "FM2S",
        "config": config,
        "seed": seed,
        "code_sha256": digests,
        "frames": per_frame,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads, cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fm2s", type=Path, required=True, help="a checkout of FM2S")
    parser.add_argument("--type", choices=TYPES, required=True)
    parser.add_argument("--frames", type=int, nargs="+", choices=range(1, 5), default=None)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    result = run(args.fm2s.resolve(), args.type, args.frames, args.seed)
    path = result_path(args.type, args.frames)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

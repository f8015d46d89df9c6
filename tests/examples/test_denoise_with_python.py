"""examples/denoise_with_python.py runs as a scripting user runs it, and denoises."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "denoise_with_python.py"


def test_the_example_script_denoises_synthetic_data(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--minutes", "1", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(
        float, re.search(r"noisy ([\d.]+) dB, PN2V ([\d.]+) dB", done.stdout).groups()
    )
    assert after > before + 2.0, done.stdout
    denoised = tifffile.imread(tmp_path / "synthetic_denoised.tif")
    std = tifffile.imread(tmp_path / "synthetic_std.tif")
    assert denoised.shape == std.shape == (2, 128, 128) and denoised.dtype == np.float32
    assert np.isfinite(std).all() and (std > 0).all()

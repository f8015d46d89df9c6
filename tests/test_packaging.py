"""The distribution is hub-ready: it builds, passes twine check and ships the manifest."""

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sdist_and_wheel_build_and_pass_twine_check(tmp_path):
    build = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    sdist = next(tmp_path.glob("*.tar.gz"))
    check = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel),
                            str(sdist)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert "napari_pn2v/napari.yaml" in names
    assert "Classifier: Framework :: napari" in metadata and "License-Expression" in metadata
    assert b"napari-pn2v = napari_pn2v:napari.yaml" in entry_points
    assert b"pn2v = napari_pn2v.cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        assert any(n.endswith("src/napari_pn2v/napari.yaml") for n in archive.getnames())

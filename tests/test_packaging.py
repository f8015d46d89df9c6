"""The distribution is hub-ready: it builds, passes twine check and ships the manifest."""

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sdist_and_wheel_build_and_pass_twine_check(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    sdist = next(tmp_path.glob("*.tar.gz"))
    check = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
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


#: imported by the code, declared in an extra rather than as a runtime dependency: napari runs
#: the plugin (whoever opens it has napari); bioimage.io export is optional ([bioimageio]),
#: as are the readers of CZI, ND2 and more ([formats])
IN_EXTRAS = {"napari", "bioimageio", "bioio"}


def test_declared_dependencies_are_what_the_code_imports():
    import ast
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[\[<>=!~ ]", d)[0].lower() for d in project["dependencies"]}
    imported = set()
    for path in (ROOT / "src" / "napari_pn2v").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = {
        name for name in imported if name not in sys.stdlib_module_names and name != "napari_pn2v"
    }
    assert third_party - IN_EXTRAS == declared
    extras = {
        re.split(r"[\[<>=!~ .]", d)[0].lower()
        for group in project["optional-dependencies"].values()
        for d in group
    }
    assert third_party >= IN_EXTRAS and extras >= IN_EXTRAS

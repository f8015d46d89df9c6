"""The distribution is hub-ready: it builds, passes twine check and ships the manifest."""

import re
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
    # PyPI and the napari hub show the README without the repository: links are absolute
    description = metadata.split("\n\n", 1)[1]
    links = re.findall(r"\]\(([^)\s]+)\)", description)
    assert links and all(link.startswith(("https://", "#")) for link in links), links
    assert "](https://raw.githubusercontent.com/" in description  # the pictures
    for key in ("Source Code", "Bug Tracker", "Documentation", "User Support"):
        assert f"Project-URL: {key}, https://" in metadata
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


#: the Qt bindings napari can run on; none may come with a plain install
QT_BINDINGS = {
    "pyqt5",
    "pyqt6",
    "pyside2",
    "pyside6",
    "pyqt5-qt5",
    "pyqt6-qt6",
    "pyside6-essentials",
}


def _requirements(name: str, extras: frozenset = frozenset()) -> set[str]:
    """The distributions ``name`` (with ``extras``) pulls in, recursively, as installed here:
    its requirements whose markers hold, theirs, and so on."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        try:
            listed = requires(current) or []
        except PackageNotFoundError:
            continue
        for text in listed:
            requirement = Requirement(text)
            environments = [{"extra": e} for e in wanted] or [{"extra": ""}]
            marker = requirement.marker
            if marker is not None and not any(marker.evaluate(e) for e in environments):
                continue
            key = canonicalize_name(requirement.name)
            if (key, frozenset(requirement.extras)) not in seen:
                seen.add((key, frozenset(requirement.extras)))
                todo.append((key, frozenset(requirement.extras)))
    return {key for key, _ in seen}


def test_a_plain_install_pulls_no_qt_binding_and_the_napari_extra_does():
    plain = _requirements("napari-pn2v")
    assert "torch" in plain and "tifffile" in plain
    assert not plain & QT_BINDINGS, plain & QT_BINDINGS
    assert "napari" not in plain
    assert _requirements("napari-pn2v", frozenset({"napari"})) & QT_BINDINGS


def test_the_citation_file_cites_the_method_the_packages_cite():
    import yaml

    from napari_pn2v.backend.packaging.bioimageio import CITATIONS

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0" and citation["authors"]
    assert citation["preferred-citation"]["doi"] == CITATIONS["pn2v"][1]
    assert [r["doi"] for r in citation["references"]] == [CITATIONS["n2v"][1]]


def test_the_lock_pins_every_requirement_inside_its_range():
    """constraints.txt (what scripts/setup.sh and CI install) holds a version of everything
    pyproject asks for, the build's tools included, each inside pyproject's range."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    wanted = [
        *pyproject["build-system"]["requires"],
        *project["dependencies"],
        *(r for group in project["optional-dependencies"].values() for r in group),
    ]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == "napari-pn2v":  # an extra made of other extras
            continue
        assert name in pins, f"{name} is not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])

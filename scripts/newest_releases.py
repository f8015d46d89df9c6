"""Try napari-pn2v with the newest release of every dependency, and say which package broke what.

    python scripts/newest_releases.py [--venv DIR] [--report FILE] [--update-lock] [-- PYTEST ARGS]

Not part of the default CI run (a new upstream release must never turn it red): run it by hand
or on a schedule. It makes a fresh virtual environment, installs napari-pn2v with all its
extras at the newest releases pip resolves (torch held at constraints.txt's: its wheel is the
hardware's choice), then lifts pyproject's upper bounds (a bound whose newer releases pass can
go), lists what is newer than constraints.txt and runs the test suite. For each failing test it
puts the upgraded packages back one at a time to the locked versions and reruns the failures:
a package whose going back mends a test is named as its breaker. Exit status 0 when every test
passes. With --update-lock (bounds kept) and a green suite it rewrites constraints.txt from that
environment: the lock is always a tested one.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "constraints.txt"
EXTRAS = "test,napari,bench,cluster,bioimageio,formats"
#: held at the lock's version: which build (CPU, CUDA) suits is the machine's, not PyPI's
HELD = ("torch",)
HEADER = """\
# The tested versions of everything napari-pn2v and all its extras install (Python 3.11,
# Linux x86-64), for `pip install -c constraints.txt …` (scripts/setup.sh, .ci/run).
# Written by `python scripts/newest_releases.py --update-lock` after the test suite passed
# with exactly these versions ({date}). torch: any build of this version (CPU or CUDA).
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(text: str) -> dict[str, str]:
    """{canonical name: version} of ``name==version`` lines (comments and others skipped)."""
    pins = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+).*", line)
        if match:
            pins[canonical(match[1])] = match[2]
    return pins


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(command), file=sys.stderr, flush=True)
    # the newest releases: not the lock that scripts/setup.sh puts in the environment
    env = {
        k: v for k, v in os.environ.items() if k not in ("PIP_CONSTRAINT", "PIP_BUILD_CONSTRAINT")
    }
    return subprocess.run(command, text=True, check=False, env=env, **kwargs)


class Environment:
    """A virtual environment with napari-pn2v installed from this checkout."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.python = str(folder / "bin" / "python")

    def create(self, locked: dict[str, str], lift: list[str]) -> None:
        run([sys.executable, "-m", "venv", "--clear", str(self.folder)]).check_returncode()
        held = self.folder / "held.txt"
        held.write_text("".join(f"{n}=={locked[n]}\n" for n in HELD if n in locked))
        self.pip("install", "-c", str(held), "-e", f"{ROOT}[{EXTRAS}]").check_returncode()
        self.pip("install", *build_requirements()).check_returncode()  # locked too
        if lift:  # pip warns of the broken bound and installs the newest all the same
            self.pip("install", "--upgrade", "-c", str(held), *lift).check_returncode()

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        return run([self.python, "-m", "pip", "-q", *args])

    def pins(self) -> dict[str, str]:
        frozen = run(
            [self.python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True
        )
        frozen.check_returncode()
        return {n: v.split("+")[0] for n, v in read_pins(frozen.stdout).items()}

    def failures(self, pytest_args: list[str], report: Path) -> list[str] | None:
        """The node ids of the tests that fail (None if pytest could not run at all)."""
        report.unlink(missing_ok=True)  # a run that writes none must not read the last one's
        command = [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if sys.platform.startswith("linux"):
            command = ["xvfb-run", "-a", *command]
        result = run([*command, f"--junitxml={report}", *pytest_args], cwd=ROOT)
        if not report.exists():
            return None
        failed = []
        for case in ET.parse(report).iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                module = case.get("classname", "").replace(".", "/")
                failed.append(f"{module}.py::{case.get('name')}")
        if result.returncode not in (0, 1):  # interrupted, usage or collection error
            failed = failed or ["(the test run itself failed: see its output)"]
        return failed


def _project() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def build_requirements() -> list[str]:
    """What building napari-pn2v takes (hatchling and its plug-ins)."""
    return _project()["build-system"]["requires"]


def upper_bounds() -> list[str]:
    """The packages pyproject bounds from above (``name<…``), in any of its lists."""
    project = _project()["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    requirements = [r for group in groups for r in group]
    return sorted({canonical(m[1]) for r in requirements if (m := re.match(r"([\w.-]+)[^;]*<", r))})


def breakers(env: Environment, failed: list[str], upgraded: dict, report: Path) -> dict:
    """{package: [tests its upgrade breaks]}: each upgraded package alone is put back to the
    locked version (what it needs held at the lock's too), the failures rerun, then the newest
    environment is restored exactly."""
    newest = env.folder / "newest.txt"
    newest.write_text("".join(f"{n}=={new}\n" for n, (_, new) in upgraded.items()))
    found = {}
    for name, (old, _) in upgraded.items():
        if env.pip("install", "-c", str(LOCK), f"{name}=={old}").returncode == 0:
            still = env.failures(failed, report)  # None: the tests could not even run
            if still is not None and (mended := [t for t in failed if t not in still]):
                found[name] = mended
        env.pip("install", "--no-deps", "-r", str(newest))
    return found


def write_report(upgraded: dict, failed: list[str] | None, found: dict, lifted: list) -> str:
    lines = [f"# Newest releases check ({datetime.date.today()})", ""]
    if lifted:
        lines += [f"pyproject's upper bounds lifted: {', '.join(lifted)}.", ""]
    lines += ["| package | locked | newest |", "|---|---|---|"]
    lines += [f"| {n} | {old} | {new} |" for n, (old, new) in sorted(upgraded.items())]
    lines.append("")
    if failed is None:
        lines.append("The test suite could not run (see its output).")
    elif not failed:
        lines.append("All tests pass with the newest releases.")
    else:
        lines.append(f"{len(failed)} tests fail with the newest releases.")
        for name, tests in found.items():
            old, new = upgraded[name]
            lines.append(f"- {name} {old} → {new} breaks: " + ", ".join(tests))
        unexplained = [t for t in failed if not any(t in v for v in found.values())]
        if unexplained:
            lines.append("- not mended by putting back any one package (several together?): ")
            lines[-1] += ", ".join(unexplained)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, help="where to make the environment (default: temp)")
    parser.add_argument("--report", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--update-lock", action="store_true", help="rewrite the lock if green")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    locked = read_pins(LOCK.read_text())
    with tempfile.TemporaryDirectory() as scratch:
        env = Environment(args.venv or Path(scratch) / "venv")
        lifted = [] if args.update_lock else upper_bounds()
        env.create(locked, lifted)
        newest = env.pins()
        upgraded = {n: (locked[n], v) for n, v in newest.items() if n in locked and locked[n] != v}
        upgraded |= {n: ("(not locked)", v) for n, v in newest.items() if n not in locked}
        junit = Path(scratch) / "junit.xml"
        failed = env.failures(args.pytest_args, junit)
        comparable = {n: v for n, v in upgraded.items() if v[0] != "(not locked)"}
        found = breakers(env, failed, comparable, junit) if failed else {}
        text = write_report(upgraded, failed, found, lifted)
        print(text)
        if args.report:
            args.report.write_text(text, encoding="utf-8")
        if failed == [] and args.update_lock:
            pins = "".join(f"{n}=={v}\n" for n, v in sorted(newest.items()))
            LOCK.write_text(HEADER.format(date=datetime.date.today()) + pins, encoding="utf-8")
            print(f"wrote {LOCK}")
    return 0 if failed == [] else 1


if __name__ == "__main__":
    sys.exit(main())

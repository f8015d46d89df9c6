"""scripts/newest_releases.py: reading the lock, the bounds it lifts, and naming the breaker."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "newest_releases.py"


@pytest.fixture(scope="module")
def newest():
    spec = importlib.util.spec_from_file_location("newest_releases", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pins_are_read_by_canonical_name(newest):
    text = "# comment\nPyQt6_sip==13.13.1\ntorch==2.13.0+cpu\n-e .\nbad line\n"
    assert newest.read_pins(text) == {"pyqt6-sip": "13.13.1", "torch": "2.13.0+cpu"}
    assert newest.read_pins(newest.LOCK.read_text())["pydantic"].startswith("2.")


def test_the_upper_bounds_lifted_are_pyprojects(newest):
    assert newest.upper_bounds() == ["pydantic"]
    assert any(r.startswith("hatchling") for r in newest.build_requirements())


class FakeEnvironment:
    """Tests that fail until pydantic goes back to the lock's version."""

    def __init__(self) -> None:
        self.installed = {"pydantic": "2.14.4", "pydantic-core": "2.50.5", "numpy": "2.5.0"}
        self.folder = Path("/nonexistent")

    def pip(self, *args: str):
        wanted = [a for a in args if "==" in a]
        if "-r" in args:  # the newest environment restored
            wanted += Path(args[args.index("-r") + 1]).read_text().split()
        for requirement in wanted:
            name, version = requirement.split("==")
            self.installed[name] = version
        return type("Done", (), {"returncode": 0})()

    def failures(self, tests, report):
        if self.installed.get("pydantic-core") == "2.46.5" != self.installed["pydantic"]:
            return None  # pydantic refuses to import beside another core: no test runs
        return [] if self.installed["pydantic"] == "2.13.5" else list(tests)


def test_the_package_whose_going_back_mends_a_test_is_named(newest, monkeypatch, tmp_path):
    env = FakeEnvironment()
    env.folder = tmp_path
    upgraded = {
        "numpy": ("2.4.6", "2.5.0"),
        "pydantic-core": ("2.46.5", "2.50.5"),
        "pydantic": ("2.13.5", "2.14.4"),
    }
    failed = ["tests/test_a.py::test_export"]
    found = newest.breakers(env, failed, upgraded, tmp_path / "junit.xml")
    assert found == {"pydantic": failed}
    # a core put back alone stops every test from running: not named as the breaker
    assert env.installed == {"pydantic": "2.14.4", "pydantic-core": "2.50.5", "numpy": "2.5.0"}
    report = newest.write_report(upgraded, failed, found, ["pydantic"])
    assert "pydantic 2.13.5 → 2.14.4 breaks: tests/test_a.py::test_export" in report
    assert "upper bounds lifted: pydantic" in report
    assert "All tests pass" in newest.write_report(upgraded, [], {}, [])


def test_a_test_run_that_reports_nothing_is_not_read_as_the_last_runs_report(newest, tmp_path):
    """pydantic-core put back without its pydantic: pytest cannot even load its plug-ins and
    writes no report; the report of the run before must not stand in for it."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 4\n")
    fake.chmod(0o755)
    report = tmp_path / "junit.xml"
    report.write_text('<testsuite><testcase classname="tests.a" name="test_b"/></testsuite>')
    env = newest.Environment(tmp_path)
    env.python = str(fake)
    assert env.failures(["tests/a.py::test_b"], report) is None

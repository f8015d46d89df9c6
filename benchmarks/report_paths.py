"""Where the benchmark report reads its results and writes the page and its plots."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "images" / "benchmark_quality.png"
BUDGET_PLOT = ROOT / "docs" / "images" / "benchmark_budget.png"


def read_result(name: str) -> dict | None:
    """The result file ``name`` under :data:`RESULTS`, or None where that benchmark has not
    been run (its section is then left out)."""
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None

"""Where the benchmark report reads its results and writes the page and its plots."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "images" / "benchmark_quality.png"
BUDGET_PLOT = ROOT / "docs" / "images" / "benchmark_budget.png"

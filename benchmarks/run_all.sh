#!/usr/bin/env bash
# Needs the bench extra: pip install -e ".[bench]".
# Measure quality (CPU preset, ~1 h on 2 cores) and speed (~10 min), then rewrite
# docs/benchmarks.md. Add `--preset gpu` runs of benchmarks.quality on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m benchmarks.speed
python -m benchmarks.quality --preset cpu
python -m benchmarks.report

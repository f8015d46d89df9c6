#!/usr/bin/env bash
# Needs the bench extra: pip install -e ".[bench]".
# Measure quality (CPU preset, ~2 h on 2 cores), time to quality (3 seeds, ~1 h per data set),
# speed (~10 min), prediction as the data grows (~3 min) and 2-D against 3-D networks
# (~15 min), then rewrite docs/benchmarks.md.
# Add `--preset gpu` runs of benchmarks.quality on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m benchmarks.speed
python -m benchmarks.scaling
python -m benchmarks.memory
python -m benchmarks.validation
python -m benchmarks.three_d
python -m benchmarks.quality --preset cpu
# time to quality: N2V and PN2V side by side, one core each, so both see the same load;
# three seeds, as single runs at these budgets vary by about ±1 dB
models=$(mktemp -d)  # the snapshots, for what the pixel's own value can add (ceiling)
for run in "fmd 10" "synthetic 4"; do
  set -- $run  # data set, test images
  for seed in 0 1 2; do
    for method in pn2v n2v; do
      OMP_NUM_THREADS=1 python -m benchmarks.budget --data "$1" --method "$method" \
        --minutes 2,5,15 --test-frames "$2" --seed "$seed" --save-models "$models" &
    done
    wait
  done
done
python -m benchmarks.ceiling --models "$models"
rm -r "$models"
python -m benchmarks.report

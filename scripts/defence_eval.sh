#!/usr/bin/env bash
# Gates and evaluation for the defence runs (scripts/defence_runs.sh), on the
# pool-holdout split's test part. PARTS is the gate chosen on calib attacks
# (scripts/detector_study.py); every model gets the same gate design, and the
# shipped SSAT model is also reported with the paper's per-class GMM.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/oct}
SPLIT=${SPLIT:-splits/oct-pool-holdout-seed0.json}
SIZE=${SIZE:-160}
PARTS=${PARTS:?set PARTS to the gate chosen on calib, e.g. layer2:tied,pen:diag,squeeze}
OUT=${OUT:-docs/results/pool-test}
ev() { python -m core.cli evaluate --data "$DATA" --split "$SPLIT" --seed 0 --quiet "$@"; }
for m in ssat at gce nt; do
  [ -f "runs/$m$SIZE-uad/manifest.json" ] || [ ! -d "runs/$m$SIZE" ] || \
    python -m core.cli fit-gate "runs/$m$SIZE" --data "$DATA" --split "$SPLIT" --parts "$PARTS" --out "runs/$m$SIZE-uad" --half
done
[ -f "runs/ssat$SIZE-gmm/manifest.json" ] || \
  python -m core.cli fit-gate "runs/ssat$SIZE" --data "$DATA" --split "$SPLIT" --parts paper --covariance full --out "runs/ssat$SIZE-gmm" --half
models=(); for m in ssat at gce nt; do [ -d "runs/$m$SIZE-uad" ] && models+=("runs/$m$SIZE-uad"); done
# 1. the four methods and the paper's gate under PGD-10 (Tables 1-2; FGSM and t-SNE left out for CPU time)
[ -f "$OUT/report.json" ] || ev --models "${models[@]}" "runs/ssat$SIZE-gmm" --out "$OUT" \
    --attacks pgd --eps 0.005,0.01 --table-eps 0.005,0.01 --no-tsne
# 2. the shipped model under attacks the gate was never chosen on: C&W, and PGD that knows the whole gate
[ -f "$OUT-unseen/report.json" ] || ev --models "runs/ssat$SIZE-uad" --out "$OUT-unseen" \
    --attacks cw,adaptive --cw-c 1 --cw-steps 30 --table-eps 0.005,0.01 --no-tsne
# 3. learning curve points (25% and 50% of the labeled scans)
for n in 355 710; do
  for m in nt ssat; do
    d="runs/$m$SIZE-n$n"; [ -d "$d" ] || continue
    [ -f "$d-uad/manifest.json" ] || python -m core.cli fit-gate "$d" --data "$DATA" --split "$SPLIT" --parts "$PARTS" --out "$d-uad" --half
    [ -f "$OUT-lc/$m-n$n/report.json" ] || ev --models "$d-uad" --out "$OUT-lc/$m-n$n" --attacks pgd --eps 0.005 --table-eps 0.005 --no-tsne
  done
done
echo "evaluation done"

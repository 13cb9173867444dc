#!/usr/bin/env bash
# The defence issue's learning curve: NT and SSAT trained on 25% and 50% of the
# pool-holdout split's labeled scans, with the recipe of the shipped 100% runs
# (scripts/defence_runs.sh), each given the shipped gate design and evaluated
# on the same test part under PGD-10 eps 0.005. Resumable: rerun after an
# interruption. The 100% points are the shipped models' report
# (docs/results/pool-test/report.json).
set -uo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-$(cd ../shared/data/oct 2>/dev/null && pwd)}
SPLIT=${SPLIT:-splits/oct-pool-holdout-seed0.json}
SIZE=${SIZE:-160}
PARTS=${PARTS:-layer3:tied,squeeze:bits4}
OUT=${OUT:-docs/results/pool-test-lc}
COMMON="--data $DATA --split $SPLIT --input-size $SIZE --batch-size 64 --label-smoothing 0.1 --augment --class-balanced --threads 2"
ADV="--fgsm-eps-min 0.002 --fgsm-eps-max 0.008"
. scripts/train_run.sh
evaluate() {  # evaluate NAME: fit the shipped gate design, then PGD-10 eps 0.005 on test
  local d="runs/$1"
  [ -f "$d/manifest.json" ] || return 0
  [ -f "$d-uad/manifest.json" ] || python -m core.cli fit-gate "$d" --data "$DATA" --split "$SPLIT" \
      --parts "$PARTS" --out "$d-uad" --half
  [ -f "$OUT/$1/report.json" ] || python -m core.cli evaluate --data "$DATA" --split "$SPLIT" --seed 0 --quiet \
      --models "$d-uad" --out "$OUT/$1" --attacks pgd --eps 0.005 --table-eps 0.005 --no-tsne
}
for n in 355 710; do
  run nt$SIZE-n$n --method nt --epochs 30 --lr 0.02 --schedule onecycle --select best --limit $n
  run ssat$SIZE-n$n --method ssat --init runs/nt$SIZE-n$n --pseudo-labels teacher --teacher runs/nt$SIZE-n$n \
      --ssat-lambda 5 --lambda-rampup-epochs 2 --unlabeled-batch-size 32 --lr 0.002 --schedule cosine --epochs 5 \
      --limit $n $ADV
  evaluate ssat$SIZE-n$n
  evaluate nt$SIZE-n$n
done
echo "== all done $(date -u +%FT%TZ)"

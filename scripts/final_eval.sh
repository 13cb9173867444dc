#!/usr/bin/env bash
# The shipped models' remaining report rows, in two steps:
#   test:  FGSM, t-SNE and the file-level 8-bit PGD threat (2 and 3 grey levels
#          at native resolution) on the pool-holdout split's test part, beside
#          the tensor-level PGD rows already in docs/results/pool-test;
#   audit: the held-out audit/ scans, once, at the end (never to tune anything).
# Usage: scripts/final_eval.sh test|audit
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-$(cd ../shared/data/oct && pwd)}
SPLIT=${SPLIT:-splits/oct-pool-holdout-seed0.json}
ev() { python -m core.cli evaluate --data "$DATA" --split "$SPLIT" --seed 0 --quiet "$@"; }
case "${1:?test or audit}" in
  test)
    ev --models models/default models/nt --out docs/results/pool-test-file \
       --attacks fgsm,pgd --eps 0.005,0.01 --table-eps 0.005,0.01 --file-pgd-levels 2,3 ;;
  audit)
    ev --audit --models models/default models/nt --out docs/results/pool-audit \
       --attacks fgsm,pgd --eps 0.005,0.01 --table-eps 0.005,0.01 --file-pgd-levels 2,3 ;;
esac

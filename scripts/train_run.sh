# Sourced by the run scripts: `run NAME ARGS...` trains runs/NAME with $COMMON
# plus ARGS, logging to runs/logs/NAME.log; a finished run (its manifest is
# written) is skipped, an unfinished one resumes from its last epoch.
mkdir -p runs/logs
run() {
  local name=$1; shift
  if [ -f "runs/$name/manifest.json" ]; then echo "== $name done"; return 0; fi
  echo "== $name start $(date -u +%FT%TZ)"
  python -m core.cli train $COMMON --out "runs/$name" --work-dir "checkpoints/$name" --resume "$@" \
    > "runs/logs/$name.log" 2>&1
  echo "== $name exit $? $(date -u +%FT%TZ)"
}

#!/usr/bin/env bash
# The paper profile on one GPU machine, within a wall-time budget; a second call resumes.
#
#   tools/gpu_paper.sh [RESULTS]          default RESULTS=results; writes <RESULTS>/paper/...
#
# Settings (environment): PROFILE=paper, JOBS=6 worker processes on the one GPU, BUDGET=510 seconds
# (no run starts that the planner expects to end later), DEVICE (default: CUDA when present),
# PYTHON (default .venv/bin/python when present, else python3), ONLY (a grid filter),
# DATA=device_data (a git-ignored folder carried to the machine: *.npz files, or files split as
# NAME.npz.part-aa, -ab, ... that are joined here). When $OUT is set (the device
# tool), the new result files are also packed into $OUT/results.tgz to bring back and commit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=${1:-results}
PROFILE=${PROFILE:-paper}
JOBS=${JOBS:-6}
BUDGET=${BUDGET:-510}
DATA=${DATA:-device_data}
# the Makefile's environment when there is one, else the machine's python3
if [ -x .venv/bin/python ]; then PY=${PYTHON:-.venv/bin/python}; else PY=${PYTHON:-python3}; fi

if [ -d "$DATA" ]; then
  for first in "$DATA"/*.npz.part-aa; do
    [ -e "$first" ] || continue
    whole=${first%.part-aa}
    if [ ! -e "$whole" ]; then cat "${whole}".part-* > "$whole.tmp.$$" && mv -f "$whole.tmp.$$" "$whole"; fi
  done
  export MSVP_DATA_MIRROR=${MSVP_DATA_MIRROR:-$(cd "$DATA" && pwd)}
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

args=(--profile "$PROFILE" --jobs "$JOBS" --time-budget "$BUDGET" --results "$RESULTS")
[ -n "${DEVICE:-}" ] && args+=(--device "$DEVICE")
[ -n "${ONLY:-}" ] && args+=(--only "$ONLY")
"$PY" -c 'import pytorch_grad_cam' 2>/dev/null || args+=(--no-explain)

start=$(date +%s)
"$PY" -m msvp grid "${args[@]}" --plan
"$PY" -m msvp grid "${args[@]}"
echo "wall time: $(( $(date +%s) - start )) s"
"$PY" -m msvp grid --profile "$PROFILE" --results "$RESULTS" ${ONLY:+--only "$ONLY"} --list | tail -n 1
if [ -n "${OUT:-}" ]; then
  tar -czf "$OUT/results.tgz" -C "$RESULTS" "$PROFILE"
fi

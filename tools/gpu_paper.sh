#!/usr/bin/env bash
# The paper profile on one GPU machine, within a wall-time budget; a second call resumes.
#
#   tools/gpu_paper.sh [RESULTS]          default RESULTS=results; writes <RESULTS>/paper/...
#
# Settings (environment): PROFILE=paper, JOBS=6 worker processes on the one GPU, BUDGET=510 seconds
# (no run starts that the planner expects to end later), DEVICE (default: CUDA when present),
# PYTHON (default .venv/bin/python when present, else python3), ONLY (a grid filter),
# DATA=device_data (a git-ignored folder carried to the machine: *.npz files, or files split as
# NAME.npz.part-aa, -ab, ... that are joined here; either may lie in sub-folders one level down). When $OUT is set (the device
# tool), the finished result files are also packed into $OUT/results.tgz.part-aa, -ab, ... to bring
# back (`cat results.tgz.part-* | tar -xz -C results`) and commit.
#
# On the device tool (2026-12-04, one H200, 15 minutes in all): cifar10.npz travels in three parts
# over three calls, each part in a carried folder of its own (device_data/c1, c2, c3) so that a later
# call keeps the earlier parts; the first call starts the MNIST and Fashion-MNIST runs with setsid so
# that they train while the parts travel. 12 runs at once (2 grids x 6 workers) took 1.7-3.5 min per
# ResNet-18 run and 4-6 min per ViT-Tiny run; 30 runs in ~10 minutes of training.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=${1:-results}
PROFILE=${PROFILE:-paper}
JOBS=${JOBS:-6}
BUDGET=${BUDGET:-510}
DATA=${DATA:-device_data}
# the Makefile's environment when there is one, else the machine's python3
if [ -x .venv/bin/python ]; then PY=${PYTHON:-.venv/bin/python}; else PY=${PYTHON:-python3}; fi

# The data folder: whole *.npz files, or parts NAME.npz.part-aa, -ab, ..., in it or in its sub-folders
# (one per call of the device tool, so that a later call keeps the parts an earlier one brought)
parts_of() {  # the parts of $1 in suffix order, wherever they lie
  find "$DATA" -maxdepth 2 -name "$1.part-*" | awk -F'part-' '{print $NF" "$0}' | sort | cut -d' ' -f2-
}
if [ -d "$DATA" ]; then
  DATA=$(cd "$DATA" && pwd)
  for f in "$DATA"/*/*.npz; do [ -e "$f" ] && ln -sf "$f" "$DATA/"; done
  for first in $(find "$DATA" -maxdepth 2 -name '*.npz.part-aa'); do
    name=$(basename "${first%.part-aa}")
    if [ ! -e "$DATA/$name" ]; then
      parts_of "$name" | xargs cat > "$DATA/$name.tmp.$$" && mv -f "$DATA/$name.tmp.$$" "$DATA/$name"
    fi
  done
  export MSVP_DATA_MIRROR=${MSVP_DATA_MIRROR:-$DATA}
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
  # finished records only: a run cut off by the budget leaves a checkpoint (a ResNet-18's is ~130 MB)
  # that would push the archive past the tool's 16 MiB per file; 15 MB parts for the same reason
  tar --exclude='*.ckpt.pt*' --exclude='*.claim' --exclude='*.tmp*' -czf - -C "$RESULTS" "$PROFILE" |
    split -b 15M - "$OUT/results.tgz.part-"
fi

#!/usr/bin/env bash
# The paper-scale deca-alanine pulls of benchmarks/pmf_umbrella.py on the GPU machine's 16 CPU
# cores: one Reference-platform Dask worker per core (29,513 steps/s of one CUDA context did not
# add up over 16 contexts, 2026-12-04; 16 single-threaded Reference workers at about 4,100 steps/s
# each do). Prepared here: the system and the soft spring's pull folder with its equilibration
# done (runs/pmf_paper, carried with .whl), so that the machine only pulls:
#
#   PULLS_BUDGET_S=520 bash benchmarks/gpu/pulls_on_gpu.sh
#
# Runs the first PULLS_NEW (48) replicas of the new protocol, then PULLS_OLD (16) of the old one
# (equilibration_ps 0), and returns every finished replica (DCD, pull.csv, summary.json) as
# tarballs of at most 16 replicas in $OUT; the rest of the 50 run here and are merged.
set -uo pipefail
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
BUDGET=${PULLS_BUDGET_S:-520}
OUT=${OUT:-/tmp/pulls-gpu-out}
SITE=/tmp/site
RUN=runs/pmf_paper
mkdir -p "$OUT"
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl ||
    echo "SETUP: the wheels did not install"
export PYTHONPATH=$SITE:$(pwd)
nproc
lscpu | grep -E "Model name|Thread|Core|Socket" || true
echo "setup: $((SECONDS - T0)) s"
left=$((BUDGET - (SECONDS - T0) - 25))
timeout -k 5 "$left" python3 benchmarks/pmf_umbrella.py --out $RUN --pulls-only --springs soft --old-protocol soft \
    --replicas 50 --old-replicas "${PULLS_OLD:-16}" --run-replicas "${PULLS_NEW:-48}" "${PULLS_OLD:-16}" \
    --pull-ps 1000 400 --pull-equilibration-ps 500 100 --frame-interval-steps 1000 --workers "${PULLS_WORKERS:-16}" 2>&1 |
    grep -v "distributed\.\|^\s*$" | tee "$OUT/pulls.log"
echo "pulls exit ${PIPESTATUS[0]} after $((SECONDS - T0)) s"
# Finished replicas only (a partial one is left out), 16 to a tarball (about 11 MB each)
for folder in "$RUN"/smd_k1_eq500 "$RUN"/smd_k1_eq0; do
    [ -d "$folder" ] || continue
    ls -d "$folder"/replica_* 2>/dev/null | sort | split -l 16 - "/tmp/list_$(basename "$folder")_"
    for list in /tmp/list_"$(basename "$folder")"_*; do
        tar -czf "$OUT/$(basename "$folder")_$(basename "$list" | sed 's/.*_//').tgz" -T "$list"
    done
    cp -f "$folder/smd.json" "$OUT/$(basename "$folder")_smd.json"
done
ls -la "$OUT"
echo "done after $((SECONDS - T0)) s"

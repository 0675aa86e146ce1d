#!/usr/bin/env bash
# benchmarks/pmf_umbrella.py on the GPU machine: pulls and umbrella windows on OpenMM's CUDA
# platform, many Dask workers sharing the GPU. Run there as
#   PMF_BUDGET_S=300 bash benchmarks/gpu/pmf_on_gpu.sh    (.whl carried; see run_on_gpu.sh)
# summary.json and the figure are copied to $OUT every 10 s, so a run cut short still returns
# what has finished (the benchmark rewrites both after each stage).
set -uo pipefail
export PYTHONUNBUFFERED=1
BUDGET=${PMF_BUDGET_S:-300}
OUT=${OUT:-/tmp/pmf-gpu-out}
SITE=/tmp/site
mkdir -p "$OUT"
T0=$SECONDS
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl ||
    echo "SETUP: the wheels did not install"
export PYTHONPATH=$SITE:$(pwd)
# OpenMM's CUDA 13 platform needs libnvrtc/libcufft/libcudart 13, which torch's environment holds
nvlib=$(python3 -c 'import glob, os, nvidia
print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for pat in ("libnvrtc.so*", "libcufft.so*", "libcudart.so*") for p in glob.glob(os.path.join(d, "*", "lib", pat))})))' 2>/dev/null)
export LD_LIBRARY_PATH=${nvlib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
python3 -c "import openmm as mm; print('OpenMM', mm.__version__, [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())])"
nproc
W=/tmp/pmf
(while sleep 10; do cp -f $W/summary.json $W/pmf_umbrella_vs_smd.png "$OUT/" 2>/dev/null; done) &
copier=$!
left=$((BUDGET - (SECONDS - T0)))
echo "benchmark budget: $left s"
timeout -k 5 "$left" python3 benchmarks/pmf_umbrella.py --out $W --platform CUDA --workers "${PMF_WORKERS:-16}" \
    --replicas "${PMF_REPLICAS:-32}" --old-replicas "${PMF_OLD:-16}" --stiff-replicas "${PMF_STIFF:-16}" \
    --pull-ps 1000 400 --pull-equilibration-ps 500 100 --window-ps 50 40 --old-protocol soft 2>&1 |
    grep -v "distributed\.\|^\s*$" | tee "$OUT/pmf.log"
echo "benchmark exit ${PIPESTATUS[0]} after $((SECONDS - T0)) s"
kill $copier 2>/dev/null
cp -f $W/summary.json $W/pmf_umbrella_vs_smd.png "$OUT/" 2>/dev/null
for k in 1 7.2; do
    cp -f $W/umbrella_k$k/overlap.png "$OUT/overlap_k$k.png" 2>/dev/null
done
ls -la "$OUT"

#!/usr/bin/env bash
# pathgan's GPU checks and benchmarks in one call on a GPU machine without registries.
#
#   bash benchmarks/gpu/run_on_gpu.sh                       (there, with .whl and .gpu carried)
#   PATHGAN_GPU_DRYRUN=1 PATHGAN_GPU_DRYRUN_SITE=/tmp/x bash benchmarks/gpu/run_on_gpu.sh
#       (here: .venv's python, nothing installed, CUDA left out, tiny sizes: proves the script
#       runs, in minutes; /tmp/x holds pytest-xdist, execnet and pytest-timeout, which the GPU
#       machine has: pip install --target /tmp/x pytest-xdist pytest-timeout)
#
# .whl and .gpu come from benchmarks/gpu/prepare.sh. Steps, each under `timeout`, in order of
# worth, while PATHGAN_GPU_BUDGET_S (default 450) lasts:
#   setup         the wheels into /tmp/site, CUDA 13 libraries for OpenMM's CUDA platform, the
#                 OpenCL loader when the driver has an ICD; env_report.py (versions, devices,
#                 OpenMM platforms); openmm-torch's build starts in the background
#   tests_cuda    the test modules with GPU tests (potential on cuda = cpu, training on cuda,
#                 OpenMM CUDA/OpenCL = Reference), -n 8
#   bench_energy  benchmarks/energy.py --device cuda (batches 1, 128, 1024; vacuum and OBC2)
#   bench_train   benchmarks/train.py --device cuda (the README's size, then batch 512)
#   bench_openmm  benchmarks/gpu/openmm_platforms.py (steps/s on every platform)
#   quick_train   benchmarks/gpu/quick_train.py (the quick preset's training stage, cpu vs cuda)
#   tests_torch   the path-CV tests with the openmm-torch built here (CUDA plugin included)
#   tests_all     the whole suite, -n 16, if at least 150 s are left
# $OUT gets (8 files at most come back): run.log (everything), summary.md (every step's exit
# code and time, then the tables), energy.md, train.md, openmm.md, quick_train.md, logs.tar.gz.
#
# PATHGAN_GPU_PHASE=2 (after run 1 of 2026-12-04, docs/gpu/2026-12-04/): what run 1 left, in about
# 280 s (PATHGAN_GPU_BUDGET_S, default 275 then):
#   setup         the wheels and libraries as above; openmm-torch's build starts at once in the
#                 background (nice 19, 10 jobs: one per file, so the longest file sets its time);
#                 versions only, no env_report.py
#   bench_openmm  openmm_platforms.py on OBC2 first, then vacuum: Reference, CPU 1 thread, CUDA
#                 mixed, OpenCL mixed (run 1 timed out before its OBC2 rows)
#   quick_train   quick_train.py at the quick preset's training size (12 pulls, 241 frames each,
#                 stride 5, 20 epochs, batch 128) from pulls of 48 ps with a frame every 100 steps
#                 (the preset's: 120 ps, every 250), cpu then cuda
#   tests_fixed   the tests changed after run 1 (GPU platforms against Reference with
#                 float32-storage tolerances; training's energy steps), -n 3, while the build may
#                 still run
#   tests_torch   once the build is done: the openmm-torch path-CV tests (test_pathcv.py,
#                 test_pathcv_md.py), -n 4
# $OUT gets run.log, summary.md, openmm.md, quick_train.md, logs.tar.gz.
set -uo pipefail
export PYTHONUNBUFFERED=1
ROOT=$(pwd)
DRY=${PATHGAN_GPU_DRYRUN:-0}
PHASE=${PATHGAN_GPU_PHASE:-1}
if [ "$PHASE" = 2 ]; then BUDGET=${PATHGAN_GPU_BUDGET_S:-275}; else BUDGET=${PATHGAN_GPU_BUDGET_S:-450}; fi
OUT=${OUT:-/tmp/pathgan-gpu-out}
LOGS=/tmp/pathgan-gpu-logs
QUICK=/tmp/pathgan-quick # quick_train.py's working folder
[ "$PHASE" = 2 ] && { LOGS=/tmp/pathgan-gpu-logs-2; QUICK=/tmp/pathgan-quick-2; }
SITE=/tmp/site
SUMMARY=$OUT/summary.md
mkdir -p "$OUT" "$LOGS"
rm -f "$SUMMARY"
T0=$SECONDS

record() { echo "| $1 | $2 | $3 |" >>"$SUMMARY"; }

exit_note() { # an exit code, and whether it is timeout's
    case $1 in
    124 | 137) echo "$1 (timed out)" ;;
    *) echo "$1" ;;
    esac
}

step() { # step NAME LIMIT_S COMMAND...: COMMAND under timeout (never past the budget), output also in $LOGS/NAME.log
    local name=$1 limit=$2
    shift 2
    local left=$((BUDGET - (SECONDS - T0)))
    if ((left < 30)); then
        echo "=== $name skipped: $left s of the budget left"
        record "$name" skipped "budget spent"
        return 0
    fi
    ((limit > left)) && limit=$left
    echo "=== $name (limit $limit s, at $((SECONDS - T0)) s): $*"
    local t=$SECONDS
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$LOGS/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "=== $name: exit $rc after $((SECONDS - t)) s"
    record "$name" "$(exit_note "$rc")" "$((SECONDS - t)) s"
}

setup() {
    if [ "$DRY" = 1 ]; then
        PY=$ROOT/.venv/bin/python
        DEVICE=cpu
        # pytest-xdist and pytest-timeout, which the GPU machine has, from a folder of their own
        export PYTHONPATH=$ROOT${PATHGAN_GPU_DRYRUN_SITE:+:$PATHGAN_GPU_DRYRUN_SITE}
    else
        PY=python3
        DEVICE=cuda
        local t=$SECONDS
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl ||
            echo "SETUP: the wheels did not install"
        echo "wheels installed in $((SECONDS - t)) s"
        export PYTHONPATH=$SITE:$ROOT
        # OpenMM's CUDA 13 platform finds libnvrtc.so.13 and libcufft.so.12 beside its own folder
        # ($ORIGIN/../../../nvidia/cu13/lib); here they are in torch's environment instead.
        local nvlib
        nvlib=$($PY -c 'import glob, os, nvidia
print(":".join(sorted({os.path.dirname(p) for d in nvidia.__path__ for pat in ("libnvrtc.so*", "libcufft.so*", "libcudart.so*") for p in glob.glob(os.path.join(d, "*", "lib", pat))})))' 2>/dev/null)
        [ -d /usr/local/cuda/lib64 ] && nvlib=${nvlib:+$nvlib:}/usr/local/cuda/lib64 # the toolkit's, after
        echo "CUDA libraries for OpenMM: ${nvlib:-none found}"
        export LD_LIBRARY_PATH=${nvlib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        # OpenCL: the ICD loader (carried) and the driver's ICD, only when the driver has one.
        local icd=""
        ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1 && icd=system
        if [ -z "$icd" ]; then
            icd=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
            [ -z "$icd" ] && icd=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 -name 'libnvidia-opencl.so.1*' 2>/dev/null | head -1)
            if [ -n "$icd" ]; then
                mkdir -p /tmp/ocl/vendors
                echo "$icd" >/tmp/ocl/vendors/nvidia.icd
                export OCL_ICD_VENDORS=/tmp/ocl/vendors
            fi
        fi
        if [ -n "$icd" ] && ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so\.1'; then
            for deb in .gpu/debs/ocl-icd-libopencl1_*.deb; do dpkg -x "$deb" /tmp/ocl; done
            export LD_LIBRARY_PATH=/tmp/ocl/usr/lib/x86_64-linux-gnu:$LD_LIBRARY_PATH
        fi
        [ -z "$icd" ] && icd="none (no libnvidia-opencl.so.1 found): the OpenCL platform stays off"
        echo "OpenCL ICD: $icd"
        # mdtraj 1.11.1 declares numpy<2.5; numpy 2.4 is carried in case the image's does not do.
        if ! $PY -c "import mdtraj" 2>"$LOGS/mdtraj_import.log"; then
            cat "$LOGS/mdtraj_import.log"
            echo "SETUP: mdtraj does not import; numpy 2.4.6 goes into $SITE"
            $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .gpu/fallback/numpy-*.whl
        fi
    fi
    export PY DEVICE
    # `pathgan` on the PATH for the tests that run the command line
    mkdir -p /tmp/pathgan-bin
    printf '#!/bin/sh\nexec %s -m pathgan.cli "$@"\n' "$PY" >/tmp/pathgan-bin/pathgan
    chmod +x /tmp/pathgan-bin/pathgan
    export PATH=/tmp/pathgan-bin:$PATH
}

report() { # full: env_report.py (phase 1); brief: versions and platforms (phase 2)
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    echo "cores $(nproc), memory $(free -g | awk '/Mem/ {print $2}') GiB, LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
    if [ "$1" = full ]; then
        $PY benchmarks/gpu/env_report.py
    else
        $PY -c "import torch, openmm as mm
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| OpenMM', mm.__version__, [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())])"
    fi
    record setup "$?" "$((SECONDS - T0)) s"
}

start_openmmtorch_build() {
    # In the background, beside tests_cuda (no timing then); staged in /tmp/omt-stage.
    local pyinc
    pyinc=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    [ -f "$pyinc/Python.h" ] || [ "$DRY" = 1 ] || export OMT_PYINC=$ROOT/.gpu/python3.12-include
    rm -rf /tmp/omt-stage
    local cuda=auto jobs=8 niceness=5 limit=200
    [ "$DRY" = 1 ] && cuda=OFF
    # phase 2: the build yields to the benchmarks' timing (nice 19) and compiles its 10 files at once
    [ "$PHASE" = 2 ] && { jobs=10; niceness=19; limit=240; }
    local build=(bash benchmarks/gpu/build_openmmtorch.sh /tmp/omt-stage/py)
    # a dry run of phase 2 compiles nothing (minutes of g++ on a small machine)
    [ "$DRY" = 1 ] && [ "$PHASE" = 2 ] && build=(sh -c 'echo "dry run: openmm-torch build skipped"')
    (OMT_LIB_DIR=/tmp/omt-stage/lib OMT_CUDA=$cuda JOBS=$jobs PY=$PY \
        timeout -k 5 "$limit" nice -n "$niceness" "${build[@]}" >"$LOGS/openmmtorch_build.log" 2>&1
    echo $? >/tmp/omt-stage.rc) &
    OMT_PID=$!
    OMT_T0=$SECONDS
}

finish_openmmtorch_build() {
    wait "$OMT_PID"
    local rc
    rc=$(cat /tmp/omt-stage.rc 2>/dev/null || echo "?")
    echo "=== openmm-torch build: exit $rc, $((SECONDS - OMT_T0)) s after its start"
    cat "$LOGS/openmmtorch_build.log"
    record openmmtorch_build "$(exit_note "$rc")" "$((SECONDS - OMT_T0)) s (background)"
    OMT_OK=0
    if [ "$rc" = 0 ] && [ "$DRY" != 1 ]; then
        local omm="$SITE/OpenMM.libs/lib"
        cp /tmp/omt-stage/lib/libOpenMMTorch.so "$omm/"
        cp /tmp/omt-stage/lib/libOpenMMTorch?*.so "$omm/plugins/"
        cp /tmp/omt-stage/py/* "$SITE/"
        OMT_OK=1
        $PY -c "import torch, openmm as mm; from openmm_bridge.pathcv import ensure_openmmtorch; ensure_openmmtorch()
print('TorchForce kernels on', [n for n in ('Reference', 'CPU', 'CUDA', 'OpenCL') if n in [mm.Platform.getPlatform(i).getName() for i in range(mm.Platform.getNumPlatforms())] and mm.Platform.getPlatformByName(n).supportsKernels(['CalcTorchForce'])])"
    fi
}

main_phase2() {
    setup
    start_openmmtorch_build
    report brief
    local pytest=("$PY" -m pytest -q -p no:cacheprovider -rs --timeout 150)
    # the tests changed after run 1, longest first (xdist hands them out in this order)
    local fixed=(
        tests/test_trainer.py::test_training_writes_outputs_and_its_energy_steps_lower_the_energy
        tests/test_context.py::test_gpu_platform_matches_reference_on_deca_alanine
        tests/test_context.py::test_gpu_tolerance_covers_float32_storage
    )
    local torch_tests=(tests/test_pathcv_md.py tests/test_pathcv.py)
    local only=(--only Reference "CPU 1 thread" "CUDA mixed" "OpenCL mixed")
    if [ "$DRY" = 1 ]; then
        step bench_openmm 120 "$PY" benchmarks/gpu/openmm_platforms.py --systems OBC2 vacuum "${only[@]}" \
            --seconds 0.3 --rounds 1 --markdown "$OUT/openmm.md"
        step quick_train 300 "$PY" benchmarks/gpu/quick_train.py --work "$QUICK" --device "$DEVICE" \
            --replicas 4 --length-ps 3 --frame-interval 100 --equilibration-ps 1 --workers 2 --epochs 1 \
            --markdown "$OUT/quick_train.md"
    else
        step bench_openmm 70 "$PY" benchmarks/gpu/openmm_platforms.py --systems OBC2 vacuum "${only[@]}" \
            --seconds 1.5 --rounds 2 --markdown "$OUT/openmm.md"
        step quick_train 115 "$PY" benchmarks/gpu/quick_train.py --work "$QUICK" --device "$DEVICE" \
            --length-ps 48 --frame-interval 100 --markdown "$OUT/quick_train.md"
    fi
    # the changed tests need no openmm-torch: they run while it may still be building
    local threads=(env OMP_NUM_THREADS=2) # torch in each xdist worker on 2 threads, not on all cores
    if [ "$DRY" = 1 ]; then # the test ids exist and collect (openmm-torch is not built in a dry run)
        step tests_fixed 120 "${pytest[@]}" --co "${fixed[@]}"
    else
        step tests_fixed 55 "${threads[@]}" "${pytest[@]}" -n 3 "${fixed[@]}"
    fi
    finish_openmmtorch_build
    if [ "$DRY" = 1 ]; then
        step tests_torch 120 "${pytest[@]}" --co "${torch_tests[@]}"
    elif [ "$OMT_OK" = 1 ]; then
        step tests_torch 200 "${threads[@]}" "${pytest[@]}" -n 4 "${torch_tests[@]}"
    else
        record tests_torch skipped "openmm-torch not built"
    fi
}

main() {
    echo "pathgan GPU run, phase $PHASE, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), dry run: $DRY, budget $BUDGET s"
    echo "| step | exit | time |" >"$SUMMARY"
    echo "| --- | --- | --- |" >>"$SUMMARY"
    if [ "$PHASE" = 2 ]; then
        main_phase2
        finish
        return
    fi
    setup
    start_openmmtorch_build
    report full

    local pytest=("$PY" -m pytest -q -p no:cacheprovider -rs --timeout 300)
    local modules=(tests/test_potential.py tests/test_trainer.py tests/test_context.py)
    if [ "$DRY" = 1 ]; then
        step tests_cuda 300 "${pytest[@]}" -n 2 "${modules[@]}" tests/test_pathcv.py -k "cuda or gpu"
    else
        step tests_cuda 240 "${pytest[@]}" -n 8 "${modules[@]}"
    fi
    finish_openmmtorch_build

    if [ "$DRY" = 1 ]; then
        step bench_energy 200 "$PY" benchmarks/energy.py --systems amber --batches 1 4 --runs 1 \
            --device "$DEVICE" --markdown "$OUT/energy.md"
        step bench_train 200 "$PY" benchmarks/train.py --frames 32 --batch-size 16 --repeats 1 --skip-torchmd \
            --device "$DEVICE" --markdown "$OUT/train.md"
        step bench_openmm 120 "$PY" benchmarks/gpu/openmm_platforms.py --seconds 0.3 --rounds 1 --markdown "$OUT/openmm.md"
        step quick_train 300 "$PY" benchmarks/gpu/quick_train.py --work "$QUICK" --device "$DEVICE" \
            --replicas 4 --length-ps 6 --equilibration-ps 1 --workers 2 --epochs 1 --markdown "$OUT/quick_train.md"
        step tests_all 300 "${pytest[@]}" --co tests
    else
        step bench_energy 150 "$PY" benchmarks/energy.py --systems amber obc2 --batches 1 128 1024 --runs 3 \
            --device "$DEVICE" --markdown "$OUT/energy.md"
        step bench_train 100 "$PY" benchmarks/train.py --frames 256 --batch-size 128 --repeats 2 \
            --device "$DEVICE" --markdown "$OUT/train.md"
        step bench_train_big 60 "$PY" benchmarks/train.py --frames 1024 --batch-size 512 --repeats 2 --skip-torchmd \
            --device "$DEVICE" --markdown "$LOGS/train_big.md"
        [ -f "$LOGS/train_big.md" ] && { echo; cat "$LOGS/train_big.md"; } >>"$OUT/train.md"
        step bench_openmm 90 "$PY" benchmarks/gpu/openmm_platforms.py --seconds 1.5 --rounds 2 --markdown "$OUT/openmm.md"
        step quick_train 150 "$PY" benchmarks/gpu/quick_train.py --work "$QUICK" --device "$DEVICE" \
            --markdown "$OUT/quick_train.md"
        if [ "$OMT_OK" = 1 ]; then
            step tests_torch 120 "${pytest[@]}" -n 4 tests/test_pathcv.py tests/test_pathcv_md.py
        else
            record tests_torch skipped "openmm-torch not built"
        fi
        if ((BUDGET - (SECONDS - T0) >= 150)); then
            step tests_all 600 "${pytest[@]}" -n 16 tests
        else
            record tests_all skipped "$((BUDGET - (SECONDS - T0))) s left, under 150"
        fi
    fi
    finish
}

finish() { # the tables into the summary, the logs packed
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,utilization.gpu --format=csv
    for f in energy train openmm quick_train; do
        [ -f "$OUT/$f.md" ] && { echo; echo "## $f"; echo; cat "$OUT/$f.md"; } >>"$SUMMARY"
    done
    tar -czf "$OUT/logs.tar.gz" -C "$LOGS" . "$QUICK"/train_*/losses.csv 2>/dev/null
    echo
    echo "=== summary ($((SECONDS - T0)) s)"
    cat "$SUMMARY"
}

main 2>&1 | tee "$OUT/run.log"

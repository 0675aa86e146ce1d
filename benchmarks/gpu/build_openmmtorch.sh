#!/usr/bin/env bash
# Build openmm-torch from source against the running python's torch and OpenMM, and install it
# where that python finds it. For the device machine, whose torch (2.11, CUDA 13) the only
# openmmtorch wheel on PyPI (1.5, linked to torch 2.9 / CUDA 12) cannot load.
#
#   bash benchmarks/gpu/build_openmmtorch.sh DEST
#
# DEST: a folder on PYTHONPATH that gets openmmtorch.py and _openmmtorch*.so. The libraries go
# into OpenMM's own lib/ and lib/plugins/ (where `import openmm` loads plugins from), or into
# OMT_LIB_DIR when set (then nothing of OpenMM's is touched: a test loads the plugins itself).
#
# g++ directly, not openmm-torch's CMake: torch's CMake package refuses to configure without a
# full CUDA toolkit layout, and a plain compile can be tried here on CPU. The same files and
# flags as the CMake build (v1.5.1): libOpenMMTorch (API + serialization), the Reference plugin,
# the CUDA plugin when cuda.h and OpenMM's CUDA platform are there (OMT_CUDA=ON/OFF/auto).
#
# Inputs (prepare.sh makes them): OMT_SRC (.gpu/omt-src: openmm-torch v1.5.1's source), OMT_GEN
# (.gpu/omt-gen: the wrapper SWIG 4.5 generated from it, since the device machine has no SWIG and
# OpenMM's own wrapper needs SWIG's runtime 5, and the CUDA kernel source encoded as C++).
# Settings: PY (python3), OMT_PYINC (the folder with Python.h, when python's own has none), OMT_BUILD (/tmp/omt-build),
# JOBS (nproc), CUDA_INC (the folder with cuda.h; found by itself otherwise),
# OMT_OPENMM_CUDA_LIB (the folder with libOpenMMCUDA.so; OpenMM's lib/plugins by default).
set -euo pipefail
DEST=${1:?usage: build_openmmtorch.sh DEST}
PY=${PY:-python3}
SRC=$(realpath "${OMT_SRC:-.gpu/omt-src}")
GEN=$(realpath "${OMT_GEN:-.gpu/omt-gen}")
BUILD=${OMT_BUILD:-/tmp/omt-build}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$DEST" "$BUILD"
DEST=$(realpath "$DEST")

read -r OMM TORCH_DIR PYINC EXT NVIDIA_INC < <("$PY" - <<'EOF'
import glob, os, sysconfig
import openmm, torch
try:
    import nvidia
    inc = [d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "include")) if os.path.exists(os.path.join(d, "cuda.h"))]
except ImportError:
    inc = []
print(os.path.dirname(openmm.version.openmm_library_path), os.path.dirname(torch.__file__),
      sysconfig.get_paths()["include"], sysconfig.get_config_var("EXT_SUFFIX"), (inc or ["-"])[0])
EOF
)
PYINC=${OMT_PYINC:-$PYINC}
LIB_DIR=${OMT_LIB_DIR:-$OMM/lib}
PLUGIN_DIR=${OMT_LIB_DIR:-$OMM/lib/plugins}
OMM_CUDA_LIB=${OMT_OPENMM_CUDA_LIB:-$OMM/lib/plugins}
if [ -z "${CUDA_INC:-}" ]; then
    for d in "${CUDA_HOME:-/nonexistent}/include" /usr/local/cuda/include "$NVIDIA_INC"; do
        if [ -f "$d/cuda.h" ]; then CUDA_INC=$d; break; fi
    done
fi
CUDA=${OMT_CUDA:-auto}
if [ "$CUDA" = auto ]; then
    CUDA=OFF
    [ -n "${CUDA_INC:-}" ] && [ -f "$OMM_CUDA_LIB/libOpenMMCUDA.so" ] && [ -f "$OMM/include/openmm/cuda/CudaContext.h" ] && CUDA=ON
fi
echo "openmm-torch: OpenMM $OMM, torch $TORCH_DIR, python headers $PYINC, cuda.h in ${CUDA_INC:--}, CUDA plugin $CUDA, $JOBS jobs"
test -f "$PYINC/Python.h" || { echo "no Python.h in $PYINC"; exit 3; }

TORCH_INC=(-I"$TORCH_DIR/include" -I"$TORCH_DIR/include/torch/csrc/api/include")
CXX=(g++ -O2 -fPIC -std=c++17 -DNDEBUG -w)
LDRPATH=(-Wl,--no-as-needed -Wl,-rpath,"$LIB_DIR" -Wl,-rpath,"$OMM/lib" -Wl,-rpath,"$OMM_CUDA_LIB" -Wl,-rpath,"$TORCH_DIR/lib")
TORCH_LIBS=(-L"$TORCH_DIR/lib" -ltorch -ltorch_cpu -lc10)
API=(-I"$SRC/openmmapi/include" -I"$SRC/openmmapi/include/internal" -I"$SRC/serialization/include" -I"$OMM/include")

t0=$SECONDS
declare -A objs=()
pids=()
compile() { # name source flags...: one object in the background, at most JOBS at once
    local name=$1 src=$2
    shift 2
    [ "$BUILD/$name.o" -nt "$src" ] && return 0 # built by an earlier call
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
    "${CXX[@]}" "$@" -c "$src" -o "$BUILD/$name.o" 2>"$BUILD/$name.log" &
    pids+=($!)
}
for f in "$SRC"/openmmapi/src/*.cpp "$SRC"/serialization/src/*.cpp; do
    n=core_$(basename "$f" .cpp)
    compile "$n" "$f" -DNN_BUILDING_SHARED_LIBRARY "${API[@]}" "${TORCH_INC[@]}"
    objs[core]+=" $BUILD/$n.o"
done
for f in "$SRC"/platforms/reference/src/*.cpp; do
    n=ref_$(basename "$f" .cpp)
    compile "$n" "$f" -DOPENMM_BUILDING_SHARED_LIBRARY -I"$SRC/platforms/reference/include" \
        -I"$SRC/platforms/reference/src" "${API[@]}" -I"$OMM/include/openmm/reference" "${TORCH_INC[@]}"
    objs[ref]+=" $BUILD/$n.o"
done
if [ "$CUDA" = ON ]; then
    for f in "$SRC"/platforms/cuda/src/*.cpp "$GEN/CudaTorchKernelSources.cpp"; do
        n=cuda_$(basename "$f" .cpp)
        compile "$n" "$f" -DOPENMM_BUILDING_SHARED_LIBRARY -I"$SRC/platforms/cuda/include" \
            -I"$SRC/platforms/cuda/src" -I"$GEN" "${API[@]}" -I"$CUDA_INC" "${TORCH_INC[@]}"
        objs[cuda]+=" $BUILD/$n.o"
    done
fi
compile wrapper "$GEN/TorchPluginWrapper.cpp" "${API[@]}" "${TORCH_INC[@]}" -I"$PYINC"
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [ "$failed" = 1 ]; then
    for log in "$BUILD"/*.log; do [ -s "$log" ] && { echo "== $log"; head -30 "$log"; }; done
    exit 5
fi
echo "compiled in $((SECONDS - t0)) s"

mkdir -p "$LIB_DIR" "$PLUGIN_DIR"
# shellcheck disable=SC2086  # the object lists are space-separated on purpose
g++ -shared ${objs[core]} -o "$LIB_DIR/libOpenMMTorch.so" -L"$OMM/lib" -lOpenMM "${TORCH_LIBS[@]}" "${LDRPATH[@]}"
# shellcheck disable=SC2086
g++ -shared ${objs[ref]} -o "$PLUGIN_DIR/libOpenMMTorchReference.so" -L"$LIB_DIR" -L"$OMM/lib" \
    -lOpenMMTorch -lOpenMM "${TORCH_LIBS[@]}" "${LDRPATH[@]}"
if [ "$CUDA" = ON ]; then
    # shellcheck disable=SC2086
    g++ -shared ${objs[cuda]} -o "$PLUGIN_DIR/libOpenMMTorchCUDA.so" -L"$LIB_DIR" -L"$OMM/lib" \
        -L"$OMM_CUDA_LIB" -lOpenMMTorch -lOpenMMCUDA -lOpenMM -ltorch_cuda -lc10_cuda "${TORCH_LIBS[@]}" "${LDRPATH[@]}"
fi
g++ -shared "$BUILD/wrapper.o" -o "$DEST/_openmmtorch$EXT" -L"$LIB_DIR" -L"$OMM/lib" \
    -lOpenMMTorch -lOpenMM -ltorch_python "${TORCH_LIBS[@]}" "${LDRPATH[@]}"
cp "$GEN/openmmtorch.py" "$DEST/"
echo "openmm-torch built in $((SECONDS - t0)) s: $LIB_DIR/libOpenMMTorch.so; plugins in $PLUGIN_DIR:" \
    "$(cd "$PLUGIN_DIR" && ls libOpenMMTorch*.so | tr '\n' ' ')"

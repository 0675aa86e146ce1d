#!/usr/bin/env bash
# Make, on a machine with PyPI and Debian's packages, what run_on_gpu.sh needs on a GPU machine
# that reaches no registry (Python 3.12, torch 2.11 + CUDA 13 and numpy, scipy, pandas, pyyaml,
# tqdm, networkx, cloudpickle, toolz, msgpack, psutil, click, jinja2, fsspec, sortedcontainers,
# packaging, pyparsing already installed there):
#
#   .whl/  the wheels of what that image lacks (about 48 MB)
#   .gpu/  openmm-torch v1.5.1's source and its generated files, Python 3.12's headers, the
#          OpenCL ICD loader as a .deb, a numpy 2.4 wheel in reserve (about 19 MB)
#
# Both are ignored by git (.git/info/exclude) and travel as carried paths.
#
#   OMT_CHECKOUT=/path/to/openmm-torch PY312=/path/to/python3.12 bash benchmarks/gpu/prepare.sh
#
# OMT_CHECKOUT: a git clone of https://github.com/openmm/openmm-torch (tag v1.5.1 is used).
# PY312: a CPython 3.12 to build the wheels PyPI has only as sdists (torchmd, pdbfixer, parmed).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
: "${OMT_CHECKOUT:?a git clone of openmm-torch}" "${PY312:?a python3.12}"
for d in /.whl/ /.gpu/; do grep -qx "$d" .git/info/exclude 2>/dev/null || echo "$d" >>.git/info/exclude; done
rm -rf .whl .gpu
mkdir -p .whl .gpu/debs .gpu/fallback
tmp=$(mktemp -d)

# 1. Wheels for cp312 manylinux x86_64 (OpenMM 8.6.1 and its CUDA 13 platform need manylinux_2_34).
platforms=(--platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any)
for req in openmm==8.6.1 OpenMM-CUDA-13==8.6.1 mdtraj==1.11.1.post2 pymbar==4.0.3 numexpr==2.14.2 \
    dask==2026.8.0 distributed==2026.8.0 partd==1.4.2 locket==1.0.0 tblib==3.2.2 tornado==6.6.1 zict==3.0.0; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${platforms[@]}" -d .whl "$req"
done
# 2. sdists built with Python 3.12 (parmed has C extensions); parmed without the 18 MB table of
#    non-standard CCD residues, which only its PDB reader's opt-in all-residue matching reads.
python3 -m pip download -q --no-deps --no-binary=:all: -d "$tmp/sdist" torchmd==1.1.2 pdbfixer==1.12.0 parmed==4.3.1
"$PY312" -m pip wheel -q --no-deps -w "$tmp/wheels" "$tmp"/sdist/*
"$PY312" - "$tmp/wheels" .whl <<'EOF'
import pathlib, sys, zipfile
src, dest = map(pathlib.Path, sys.argv[1:])
drop = "parmed/modeller/data/nonstandard_ccd_residue_templates.json.gz"
for wheel in src.glob("*.whl"):
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(dest / wheel.name, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename == drop:
                continue
            data = zin.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                data = b"".join(line for line in data.splitlines(keepends=True) if not line.startswith(drop.encode()))
            zout.writestr(item, data)
EOF

# 3. openmm-torch: source, the CUDA kernel encoded as C++ (its CMake script), and the Python
#    wrapper from SWIG 4.5 (OpenMM 8.6.1's own wrapper uses SWIG's runtime 5; Debian's SWIG 4.1
#    writes runtime 4, whose objects OpenMM's System.addForce refuses).
git -C "$OMT_CHECKOUT" archive v1.5.1 -- CMakeLists.txt README.md openmmapi platforms python serialization |
    tar -x -C .gpu --one-top-level=omt-src
mkdir -p .gpu/omt-gen
cuda_src=$PWD/.gpu/omt-src/platforms/cuda/src
cmake -D CUDA_SOURCE_DIR="$cuda_src" -D CUDA_SOURCE_CLASS=CudaTorchKernelSources \
    -D CUDA_KERNELS_CPP="$PWD/.gpu/omt-gen/CudaTorchKernelSources.cpp" \
    -D CUDA_KERNELS_H="$PWD/.gpu/omt-gen/CudaTorchKernelSources.h" -P .gpu/omt-src/platforms/cuda/EncodeCUDAFiles.cmake
python3 -m pip install -q --no-deps --target "$tmp/swig" swig==4.5.0
unzip -q -o .whl/openmm-8.6.1-*.whl 'OpenMM.libs/include/*' -d "$tmp/openmm"
PYTHONPATH=$tmp/swig "$tmp/swig/bin/swig" -python -c++ -w453,325,314 -o .gpu/omt-gen/TorchPluginWrapper.cpp \
    -I"$tmp/openmm/OpenMM.libs/include" -I.gpu/omt-src/openmmapi/include .gpu/omt-src/python/openmmtorch.i

# 4. Python 3.12's headers (for the wrapper, if the GPU machine's python has none), the OpenCL
#    ICD loader (OpenMM's OpenCL platform needs libOpenCL.so.1), and numpy 2.4 in case mdtraj
#    1.11.1 (built for numpy<2.5) does not import with the GPU machine's numpy 2.5.
cp -r "$("$PY312" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" .gpu/python3.12-include
(cd .gpu/debs && apt-get download ocl-icd-libopencl1 2>/dev/null)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" -d .gpu/fallback numpy==2.4.6
rm -rf "$tmp"
ls -la .whl .gpu/debs .gpu/fallback
du -sh .whl .gpu
echo "travels: $(($(du -sb .whl .gpu | awk '{s += $1} END {print s}') + $(git ls-files -z | xargs -0 cat | wc -c))) bytes with the tracked tree (untracked files come too)"

"""pathgan: conditional-GAN transition paths scored with TorchMD, refined in OpenMM."""

from setuptools import find_packages, setup

setup(
    name="pathgan",
    version="0.1.0",
    description=(
        "Low-energy transition paths of proteins: a conditional GAN trained with a "
        "differentiable TorchMD potential, and an OpenMM bridge to refine and use its paths."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["pathgan", "pathgan.*", "openmm_bridge", "openmm_bridge.*"]),
    install_requires=[
        # openmmtorch 1.5 (the only release on PyPI) links libtorch_cuda/libnvrtc of the
        # torch 2.9 series; with torch 2.13's CPU wheel it fails to import
        # (ImportError: libnvrtc.so.12). Keep torch at 2.9.1 until openmmtorch moves on.
        "torch==2.9.1",
        "openmmtorch==1.5",
        # The OpenMM 8.6 series: the builder relies on ForceField's template matching.
        "openmm>=8.6,<8.7",
        "torchmd==1.1.2",
        "mdtraj>=1.11",
        "parmed>=4.3",
        "pdbfixer>=1.12",
        "networkx>=3",  # torchmd's improper-centre detection imports it
        "numpy>=1.26",
        "scipy>=1.11",
        "pyyaml>=6",
        "tqdm>=4.66",
        "matplotlib>=3.8",
        # Replicas, string images and swarms run as Dask tasks: a local cluster by default,
        # any running scheduler with --scheduler ADDRESS.
        "dask[distributed]>=2024.1",
        "pymbar>=4.0",  # MBAR for umbrella windows along path CVs
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.5", "ruff>=0.6"],
    },
    entry_points={"console_scripts": ["pathgan=pathgan.cli:main"]},
)

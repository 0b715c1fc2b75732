"""Install marlin-quant. The CUDA kernel library is compiled with nvcc when one is found
(set MARLIN_QUANT_SKIP_KERNELS=1 to skip, MARLIN_QUANT_ARCHS=80,90a to choose targets); on a
machine without CUDA the package installs and runs its CPU reference path."""

import importlib.util
import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithKernels(build_py):
    def run(self):
        super().run()
        if os.environ.get("MARLIN_QUANT_SKIP_KERNELS") == "1":
            return
        # Load the build helper by path: importing the package would import torch, which the
        # isolated build environment does not have.
        spec = importlib.util.spec_from_file_location("_mq_build", ROOT / "marlin_quant" / "_build.py")
        build = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(build)
        DEFAULT_ARCHS, LIB_NAME = build.DEFAULT_ARCHS, build.LIB_NAME
        build_kernel_library, find_nvcc = build.build_kernel_library, build.find_nvcc

        if find_nvcc() is None:
            print("marlin-quant: nvcc not found, installing without the CUDA kernel (CPU reference only)")
            return
        archs = os.environ.get("MARLIN_QUANT_ARCHS", ",".join(DEFAULT_ARCHS)).split(",")
        if getattr(self, "editable_mode", False):
            # Editable installs import from the source tree: the library goes there.
            build_kernel_library(archs=archs, csrc=ROOT / "csrc")
        else:
            out = Path(self.build_lib) / "marlin_quant" / "_lib" / LIB_NAME
            build_kernel_library(archs=archs, out=out, csrc=ROOT / "csrc")


setup(
    name="marlin-quant",
    version="0.1.0",
    description="GPTQ 4-bit compression of Llama-family models, served by a bundled Marlin FP16xINT4 kernel",
    python_requires=">=3.10",
    packages=["marlin_quant", "marlin_quant.formats", "marlin_quant.cli"],
    package_dir={"marlin_quant.cli": "cli"},
    package_data={"marlin_quant": ["_lib/*.so"]},
    install_requires=[
        "torch>=2.4",
        "numpy",
        "safetensors>=0.4",
        "transformers>=4.45",
        "accelerate",
        "gguf>=0.10",
        "typer>=0.12",
        "rich",
        "tqdm",
        "pyyaml",
    ],
    extras_require={
        # cuobjdump and nvdisasm, to read the kernel library's machine code in tests (no GPU).
        "test": ["pytest>=7", "hypothesis", "compressed-tensors",
                 "nvidia-cuda-cuobjdump>=13.2; platform_system == 'Linux' and platform_machine == 'x86_64'",
                 "nvidia-cuda-nvdisasm>=13.2; platform_system == 'Linux' and platform_machine == 'x86_64'"],
        "hub": ["datasets"],
    },
    entry_points={"console_scripts": ["marlin-quant=marlin_quant.cli.app:main"]},
    cmdclass={"build_py": BuildWithKernels},
)

"""marlin-quant: GPTQ 4-bit compression of Llama-family models, run on a bundled Marlin kernel.

The library is the one way in; the ``marlin-quant`` CLI only composes these functions.

* :mod:`marlin_quant.packing` - Marlin weight/scale layout (pack, unpack, dequantize)
* :mod:`marlin_quant.ops` - ``torch.ops.marlin_quant.gemm``: CUDA kernel binding + CPU reference
* :mod:`marlin_quant.nn` - ``MarlinLinear``
* :mod:`marlin_quant.formats` - native Marlin directories, GPTQ and compressed-tensors exports
* :func:`marlin_quant.load` - a quantized directory -> a Hugging Face model on MarlinLinear
"""

__version__ = "0.1.0"

from . import ops, packing  # noqa: E402,F401
from .nn import MarlinLinear  # noqa: E402,F401


def load(path, device="cpu", dtype=None, progress=None):
    """Load a quantized directory as a Hugging Face model; see :func:`marlin_quant.loading.load`."""
    from .loading import load as _load

    return _load(path, device=device, dtype=dtype, progress=progress)

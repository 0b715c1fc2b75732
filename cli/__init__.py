"""The ``marlin-quant`` command line (installed as ``marlin_quant.cli``)."""

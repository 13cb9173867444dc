"""OCTGuard engine: loading, classification, attacks, detection gate and risk.

This package never imports Qt (see tests/core/test_layering.py), so it can be
used from the command line, from notebooks and from the viewer alike.
"""

CLASSES = ("CNV", "DME", "DRUSEN", "NORMAL")

__version__ = "0.1.0"

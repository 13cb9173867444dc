"""Budgets in the grey levels of an 8-bit file, the unit a file-level attack
moves pixels in. Torch-free, like core.attacks.spec, which builds on it."""
from __future__ import annotations

import math

GREY_LEVELS = 255                    # one grey level of an 8-bit file is 1/255


def grey_levels(eps: float) -> float:
    """eps in [0, 1] units -> steps of an 8-bit image."""
    return eps * GREY_LEVELS


def level_budget(eps: float) -> int:
    """Whole grey levels an 8-bit attack may move a pixel: ceil(eps * 255).
    The tolerance keeps 2/255 at 2 levels, not 3 through float rounding."""
    return max(0, math.ceil(eps * GREY_LEVELS - 1e-6))

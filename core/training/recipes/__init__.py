"""One module per training method: what its mini-batch holds and what loss
the training pass minimises. The loop (core/training/loop.py) is the same
for all four; change a method here.

- nt:   natural training, cross-entropy on the clean batch;
- gce:  cross-entropy minus the guided complement entropy;
- at:   the batch plus as many FGSM examples (eps ~ U[eps_min, eps_max] per image);
- ssat: AT on the labeled batch + lambda * AT on a pseudo-labeled unlabeled batch.
"""
from .at import AT
from .base import Batch, Recipe, TrainingContext
from .gce import GCE
from .nt import NT
from .ssat import SSAT

RECIPES: dict[str, type[Recipe]] = {"nt": NT, "at": AT, "gce": GCE, "ssat": SSAT}

__all__ = ["RECIPES", "Batch", "Recipe", "TrainingContext", "NT", "AT", "GCE", "SSAT"]

"""NT, natural training: cross-entropy on the clean (augmented) labeled batch."""
from .base import Batch, Recipe


class NT(Recipe):
    def batch(self, x, y, step):
        return Batch(x, y, loss=lambda logits: self.ce(logits, y))

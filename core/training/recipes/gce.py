"""GCE: cross-entropy minus the guided complement entropy (Chen et al.,
ICCV 2019; core/training/losses.py) on the clean labeled batch."""
from ..losses import gce_objective
from .base import Batch, Recipe


class GCE(Recipe):
    def batch(self, x, y, step):
        cfg = self.ctx.cfg
        return Batch(x, y, loss=lambda logits: gce_objective(logits.float(), y, cfg.gce_alpha, cfg.gce_weight,
                                                             cfg.label_smoothing))

"""AT, FGSM adversarial training: the labeled batch plus one FGSM example of
each image (eps ~ U[--fgsm-eps-min, --fgsm-eps-max] per image), cross-entropy
on all of them."""
import torch

from .base import Batch, Recipe


class AT(Recipe):
    def batch(self, x, y, step):
        xb, yb = torch.cat([x, self.fgsm(x, y)]), torch.cat([y, y])
        return Batch(xb, yb, loss=lambda logits: self.ce(logits, yb), n_adv=len(x))

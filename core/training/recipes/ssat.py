"""SSAT, semi-supervised adversarial training: AT on the labeled batch plus
lambda * AT on an unlabeled batch (clean and FGSM) whose labels are
pseudo-labels from the current model (the paper's notebook) or from a frozen
teacher (Stanforth et al.).

lambda is 0 for --warmup-epochs labeled-only epochs, then ramps up to
--ssat-lambda over --lambda-rampup-epochs. A model trained from scratch gives
noise as pseudo-labels early on, and lambda = 5 then lets the noise dominate:
the warm-up/teacher options exist to prevent that collapse."""
import torch

from ...batches import as_float
from ..augment import augment_batch
from .at import AT
from .base import Batch


def ssat_lambda(cfg, epoch: int) -> float:
    """The unlabeled term's weight in an epoch (0-based)."""
    if epoch < cfg.warmup_epochs:
        return 0.0
    ramp = cfg.lambda_rampup_epochs
    return cfg.ssat_lambda * min(1.0, (epoch - cfg.warmup_epochs + 1) / ramp) if ramp else cfg.ssat_lambda


class SSAT(AT):
    order = None

    def start_epoch(self, epoch):
        cfg, unl = self.ctx.cfg, self.ctx.unlabeled
        self.lam = ssat_lambda(cfg, epoch)
        self.order = (torch.randperm(len(unl), generator=torch.Generator().manual_seed(cfg.seed + 7 * epoch))
                      if unl is not None and len(unl) else None)

    def batch(self, x, y, step):
        lab = super().batch(x, y, step)
        if self.lam <= 0 or self.order is None:
            return lab
        c, k = self.ctx, self.ctx.cfg.unlabeled_batch_size
        u = as_float(c.unlabeled[self.order[(step * k) % len(self.order):][:k]], c.channels, c.device)
        if c.cfg.augment:
            u = augment_batch(u, c.gen)
        yhat = self.pseudo_labels(u)
        xb, yb = torch.cat([lab.x, u, self.fgsm(u, yhat)]), torch.cat([lab.y, yhat, yhat])
        n_sup, lam = len(lab.x), self.lam

        def loss(logits):
            return self.ce(logits[:n_sup], yb[:n_sup]) + lam * self.ce(logits[n_sup:], yb[n_sup:])
        return Batch(xb, yb, loss, n_adv=lab.n_adv)

    @torch.no_grad()
    def pseudo_labels(self, u):
        src = self.ctx.teacher if self.ctx.teacher is not None else self.ctx.model
        was = src.training
        src.eval()
        yhat = src(u).argmax(1)
        src.train(was)
        return yhat

"""An epoch's history record: loss and accuracies over its steps, and where
its time went."""
from __future__ import annotations

import time

import torch


class EpochStats:
    def __init__(self):
        self.t0 = time.perf_counter()
        self.t_pass = self.t_attack = 0.0   # training passes; FGSM and pseudo-label passes the recipe needs
        self.loss, self.clean_correct, self.adv_correct, self.seen, self.adv_seen = 0.0, 0, 0, 0, 0

    @torch.no_grad()
    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, n_adv: int) -> None:
        """One step: y are the clean labeled images, first in the batch; the
        n_adv after them are their FGSM examples."""
        pred, n = logits.argmax(1), len(y)
        self.loss += float(loss) * n
        self.clean_correct += int((pred[:n] == y).sum())
        self.seen += n
        if n_adv:
            self.adv_correct += int((pred[n:n + n_adv] == y).sum())
            self.adv_seen += n_adv

    def mean_loss(self) -> float:
        return self.loss / max(self.seen, 1)

    def record(self, epoch: int, calib_acc: float, lam: float, lr: float, world: int) -> dict:
        wall = time.perf_counter() - self.t0
        return {"epoch": epoch + 1, "loss": self.mean_loss(),
                "train_clean_acc": self.clean_correct / max(self.seen, 1),
                "train_adv_acc": (self.adv_correct / self.adv_seen) if self.adv_seen else None,
                "calib_acc": calib_acc, "lambda": lam, "lr": lr,
                "seconds": wall, "pass_seconds": self.t_pass, "attack_and_pseudo_label_seconds": self.t_attack,
                # time outside every forward/backward pass the recipe needs (data, augmentation,
                # bookkeeping, the per-epoch calib evaluation)
                "overhead_share": 1 - (self.t_pass + self.t_attack) / wall if wall else None,
                "images_per_second": self.seen * world / wall if wall else None}


def describe(rec: dict) -> str:
    adv = rec["train_adv_acc"] if rec["train_adv_acc"] is not None else "-"
    return (f"epoch {rec['epoch']}: loss {rec['loss']:.4f} clean {rec['train_clean_acc']:.3f} adv {adv} "
            f"calib {rec['calib_acc']:.3f} ({rec['seconds']:.0f} s, {rec['images_per_second']:.1f} img/s)")

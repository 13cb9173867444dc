"""Every training setting, with the paper's recipe as the default. Each
field's help is the ``octguard train --help`` text for its flag."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

METHODS = ("nt", "at", "gce", "ssat")


def _opt(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    method: str = _opt("ssat", "nt (natural), at (FGSM adversarial), gce (guided complement "
                               "entropy) or ssat (semi-supervised adversarial training)")
    data: str = _opt("", "dataset folder (Kermany layout) or MANIFEST.csv")
    split: str = _opt("", "split file from `octguard split`: labeled, unlabeled, calib and test parts")
    out: str = _opt("", "model directory to write")
    work_dir: str = _opt("", "checkpoint folder (default checkpoints/<out name>)")
    input_size: int = _opt(224, "side of the square network input, in pixels")
    batch_size: int = _opt(64, "labeled images per mini-batch")
    epochs: int = _opt(10, "passes over the labeled images")
    lr: float = _opt(1e-3, "SGD learning rate (the peak, with a schedule)")
    momentum: float = _opt(0.9, "SGD momentum")
    weight_decay: float = _opt(5e-4, "SGD weight decay")
    schedule: str = _opt("constant", "learning-rate schedule: constant, onecycle or cosine")
    label_smoothing: float = _opt(0.0, "label smoothing of the cross-entropy, 0 for none")
    augment: bool = _opt(False, "OCT-respecting geometric and intensity jitter of training images")
    fgsm_eps_min: float = _opt(0.001, "AT/SSAT: each mini-batch is augmented 1:1 with FGSM examples; "
                                      "smallest per-sample eps, in [0, 1] pixel units")
    fgsm_eps_max: float = _opt(0.003, "AT/SSAT: largest per-sample FGSM eps")
    ssat_lambda: float = _opt(5.0, "SSAT: weight of the unlabeled adversarial term")
    lambda_rampup_epochs: int = _opt(0, "SSAT: epochs over which lambda ramps from 0 to --ssat-lambda")
    pseudo_labels: str = _opt("current", "SSAT pseudo-labels from the current model (the paper's "
                                         "notebook) or a fixed teacher (Stanforth et al.)")
    teacher: str = _opt("", "model directory of the teacher, with --pseudo-labels teacher")
    warmup_epochs: int = _opt(0, "SSAT: labeled-only epochs before the unlabeled term starts")
    unlabeled_batch_size: int = _opt(16, "SSAT: unlabeled images per mini-batch")
    gce_alpha: float = _opt(0.2, "GCE: complement-entropy exponent alpha")
    gce_weight: float = _opt(1.0, "GCE: weight of the complement-entropy term")
    init: str = _opt("", "model directory to start from (fine-tuning)")
    init_weights: str = _opt("", "local ResNet-18 weights in torchvision's layout, as safetensors "
                                 "(e.g. ImageNet); nothing is downloaded")
    ema: float = _opt(0.0, "decay of an exponential moving average of the weights; 0 disables it")
    bn_recalibrate: bool = _opt(True, "re-estimate BatchNorm statistics on clean training images "
                                      "at the end")
    select: str = _opt("last", "keep the last epoch or the best one by clean accuracy on the calib part")
    gate_parts: str = _opt("layer3:tied,squeeze:bits4",
                           "gate: the parts of the shipped multi-part gate, chosen on calib attacks "
                           "(docs/training.md), or 'paper' for the paper's per-class Gaussian mixture, "
                           "which the --gate-components/-covariance/-reg-covar options shape")
    gate_components: int = _opt(1, "gate: Gaussian mixture components per class")
    gate_covariance: str = _opt("full", "gate covariance: full, diag or lw (Ledoit-Wolf shrinkage)")
    gate_reg_covar: float = _opt(1e-3, "gate: added to the covariance diagonals")
    gate_rejection_rate: float = _opt(0.05, "gate: share of held-out clean calib images the "
                                            "threshold rejects")
    half: bool = _opt(False, "store the weights in fp16 (half the size)")
    seed: int = _opt(0, "seed of initialisation, batches, augmentation and attacks")
    name: str = _opt("", "model name shown in the viewer (default: the --out folder's name)")
    resume: bool = _opt(False, "continue from the last checkpoint in --work-dir")
    device: str = _opt("", "cpu, cuda or cuda:N (default: CUDA when present)")
    amp: bool = _opt(True, "bf16 mixed precision on CUDA, and on CPUs with native bf16 (about 2x)")
    class_balanced: bool = _opt(False, "draw each epoch's labeled batches class-balanced "
                                       "(with replacement)")
    limit: int = _opt(0, "use at most this many labeled images, and a quarter as many unlabeled "
                         "ones (the split's ratio); 0 for all. Calibration keeps all its "
                         "scans, so runs of every size are selected alike (learning curve)")
    threads: int = _opt(0, "CPU threads for torch, 0 for its default")

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")

    def as_dict(self) -> dict:
        return asdict(self)

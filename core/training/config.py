"""Every training setting, with the paper's recipe as the default."""
from __future__ import annotations

from dataclasses import asdict, dataclass

METHODS = ("nt", "at", "gce", "ssat")


@dataclass
class TrainConfig:
    method: str = "ssat"
    data: str = ""
    split: str = ""
    out: str = ""
    work_dir: str = ""              # checkpoints; default checkpoints/<out name>
    input_size: int = 224
    batch_size: int = 64
    epochs: int = 10
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "constant"      # constant | onecycle | cosine
    label_smoothing: float = 0.0
    augment: bool = False           # OCT-respecting geometric + intensity jitter
    fgsm_eps_min: float = 0.001     # each mini-batch is augmented 1:1 with FGSM examples
    fgsm_eps_max: float = 0.003
    ssat_lambda: float = 5.0
    lambda_rampup_epochs: int = 0   # ramp lambda from 0 to ssat_lambda
    pseudo_labels: str = "current"  # current (paper notebook) | teacher (Stanforth et al.)
    teacher: str = ""               # model dir for pseudo_labels=teacher
    warmup_epochs: int = 0          # SSAT: labeled-only epochs before the unlabeled term
    unlabeled_batch_size: int = 16
    gce_alpha: float = 0.2
    gce_weight: float = 1.0
    init: str = ""                  # model dir to start from (fine-tuning)
    init_weights: str = ""          # local torchvision ResNet-18 safetensors (e.g. ImageNet)
    ema: float = 0.0                # weight averaging decay; 0 disables
    bn_recalibrate: bool = True     # exact BatchNorm statistics on clean training images at the end
    select: str = "last"            # last | best (by clean accuracy on the calib part)
    gate_components: int = 1
    gate_covariance: str = "full"
    gate_reg_covar: float = 1e-3
    gate_rejection_rate: float = 0.05
    half: bool = False              # store weights in fp16
    seed: int = 0
    name: str = ""
    resume: bool = False
    device: str = ""                # "" picks CUDA when present
    amp: bool = True                # bf16 mixed precision on CUDA, and on CPUs with native bf16 (about 2x)
    class_balanced: bool = False    # draw each epoch's labeled batches class-balanced (with replacement)
    limit: int = 0                  # use at most this many labeled images (tests)
    threads: int = 0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")

    def as_dict(self) -> dict:
        return asdict(self)

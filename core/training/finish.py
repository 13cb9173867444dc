"""The end of a run: pick the final weights (last or best epoch, EMA or
not), re-estimate their BatchNorm statistics if that does not cost calib
accuracy, fit the detection gate and write the model directory."""
from __future__ import annotations

import platform
import time
from pathlib import Path

import torch

from ..batches import predict_images
from ..hashing import sha256_file
from ..model_store import save_model_dir
from .batchnorm import reestimate_if_not_worse
from .config import TrainConfig
from .gate_fit import fit_any_gate
from .parts import TrainingScans


def finish(cfg: TrainConfig, final, best_state: dict | None, selected_epoch, scans: TrainingScans,
           history: list[dict], device, world: int, say=print) -> Path:
    out = Path(cfg.out)
    channels = final.in_channels
    if cfg.select == "best" and best_state is not None:
        final.load_state_dict(best_state)

    def calib_acc(m):
        return float((predict_images(m, scans.cal_x, channels, device) == scans.cal_y).float().mean()) \
            if len(scans.cal_x) else None

    if cfg.bn_recalibrate:
        final_acc, after, kept_new = reestimate_if_not_worse(final, scans.lab_x, channels, device, calib_acc,
                                                             seed=cfg.seed, augment=cfg.augment)
        if final_acc is not None:
            history[-1]["calib_acc_running_bn"], history[-1]["calib_acc_recalibrated_bn"] = final_acc, after
            if kept_new:
                final_acc = after
            else:
                say(f"kept the running BatchNorm statistics (calib {final_acc:.3f}; re-estimated {after:.3f})")
    else:
        final_acc = calib_acc(final)
    final.eval()
    if final_acc is not None:
        history[-1]["calib_acc_final"] = final_acc
        say(f"calibration-part accuracy of the final model: {final_acc:.3f}")
    # the gate: fitted on clean training features, calibrated on held-out clean scans
    say("fitting the detection gate")
    gate = fit_any_gate(final, scans.lab_x, scans.lab_y, scans.cal_x, device, parts=cfg.gate_parts,
                        rejection_rate=cfg.gate_rejection_rate, n_components=cfg.gate_components,
                        covariance=cfg.gate_covariance, reg_covar=cfg.gate_reg_covar, seed=cfg.seed)
    n_unl = 0 if scans.unl_x is None else len(scans.unl_x)
    meta = {
        "name": cfg.name or out.name,
        "method": cfg.method,
        "input_size": cfg.input_size,
        "recipe": cfg.as_dict(),
        "provenance": (f"{cfg.method.upper()} demonstration model trained from scratch on "
                       f"{len(scans.lab_x) + n_unl} real OCT scans; not for clinical use"),
        "split_sha256": sha256_file(cfg.split),
        "trained_on": {"labeled": len(scans.lab_x), "unlabeled": n_unl, "calib": len(scans.cal_x)},
        "selected_epoch": selected_epoch if cfg.select == "best" else len(history),
        "calib_accuracy": history[-1].get("calib_acc_final") if history else None,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"platform": platform.platform(), "device": str(device),
                    "torch": torch.__version__, "world_size": world},
    }
    save_model_dir(out, final.cpu(), meta, gate, history, half=cfg.half)
    say(f"wrote {out}")
    return out

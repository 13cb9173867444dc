"""Per-epoch checkpoints in safetensors + JSON, so training resumes after a
crash, a Ctrl-C or the end of a session. Written atomically."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_path, atomic_write_text


def save_checkpoint(work_dir: Path, model, optimizer, ema_model, state: dict) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema_model is not None:
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous()
                        for k, v in ema_model.state_dict().items()})
    for i, p in enumerate(p for g in optimizer.param_groups for p in g["params"]):
        buf = optimizer.state.get(p, {}).get("momentum_buffer")
        if buf is not None:
            tensors[f"opt.{i}"] = buf.detach().cpu().contiguous()
    tensors["rng.cpu"] = torch.get_rng_state()
    with atomic_path(work_dir / "checkpoint.safetensors") as tmp:
        save_file(tensors, str(tmp))
    atomic_write_text(work_dir / "checkpoint.json", json.dumps(state, indent=1))


def load_checkpoint(work_dir: Path, model, optimizer, ema_model) -> dict | None:
    if not (work_dir / "checkpoint.json").exists():
        return None
    state = json.loads((work_dir / "checkpoint.json").read_text())
    tensors = load_file(str(work_dir / "checkpoint.safetensors"))
    dev = next(model.parameters()).device
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if ema_model is not None:
        ema_model.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    for i, p in enumerate(p for g in optimizer.param_groups for p in g["params"]):
        if f"opt.{i}" in tensors:
            optimizer.state[p]["momentum_buffer"] = tensors[f"opt.{i}"].to(dev)
    torch.set_rng_state(tensors["rng.cpu"])
    return state

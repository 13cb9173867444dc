"""What the figures were measured on: CPU, cores, memory, torch, device and
how busy the machine was (a shared machine's load changes every figure)."""
from __future__ import annotations

import os
import platform
import re
import sys

import torch


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def describe(device: torch.device) -> dict:
    info = {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_gib(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": str(device),
        "gpu": None,
        "load_average_start": load_average(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    try:
        import torchattacks
        info["torchattacks"] = torchattacks.__version__
    except ImportError:
        info["torchattacks"] = None
    return info


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_name(info: dict) -> str:
    """A file-name-safe name: the GPU when there is one, else CPU + cores."""
    if info.get("gpu"):
        return slug(info["gpu"])
    cpu = slug(info["cpu"].replace("(R)", "").replace("(TM)", "").replace("Processor", ""))
    return f"{cpu}-{info['usable_cores'] or info['logical_cores']}c"


def is_busy(info: dict) -> bool:
    """More runnable work than cores, at the start or the end of the run."""
    cores = info.get("usable_cores") or info.get("logical_cores") or 1
    loads = [info.get("load_average_start"), info.get("load_average_end")]
    return any(l is not None and l[0] > cores for l in loads)

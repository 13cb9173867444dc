"""The real sample scans shipped with OCTGuard: a few Kermany B-scans
(CC BY 4.0) from the test part of the shipped model's split, in
resources/samples/ with their attribution and sha256 in samples.json.

``octguard samples DIR`` copies them (and samples.json, so the attribution
travels with the images); the viewer's Help > Open Sample Scans opens them
in place. Synthetic phantoms are core.phantoms.
"""
from __future__ import annotations

import json
from pathlib import Path

from .atomic import atomic_write_bytes
from .errors import OCTGuardError
from .package_data import resources_dir

SAMPLES_JSON = "samples.json"
ATTRIBUTION = (
    "Real retinal OCT B-scans from Kermany D, Zhang K, Goldbaum M (2018), \"Labeled Optical "
    "Coherence Tomography (OCT) and Chest X-Ray Images for Classification\", Mendeley Data, "
    "v3, doi:10.17632/rscbjbr9sj, licensed CC BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/). Paper: Kermany DS et al., Cell "
    "172(5):1122-1131 (2018), doi:10.1016/j.cell.2018.02.010. Original JPEG bytes, unchanged.")


def samples_dir() -> Path:
    return resources_dir() / "samples"


def sample_index() -> dict:
    """samples.json: the attribution, how the scans were chosen, and one
    record per scan (class, patient id, sha256, where it came from)."""
    path = samples_dir() / SAMPLES_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OCTGuardError(f"the sample scans' index {path} is missing or unreadable ({exc})") from exc


def sample_paths() -> list[Path]:
    """The shipped sample scans, in the index's order."""
    return [samples_dir() / rec["file"] for rec in sample_index()["files"]]


def write_samples(directory: str | Path) -> list[Path]:
    """Copy the sample scans and samples.json into ``directory``; the bytes
    are checked against their sha256 first, so a damaged install says so."""
    from .hashing import sha256_file

    directory = Path(directory)
    index = sample_index()
    out = []
    for rec in index["files"]:
        src = samples_dir() / rec["file"]
        try:
            ok = sha256_file(src) == rec["sha256"]
            data = src.read_bytes()
        except OSError as exc:
            raise OCTGuardError(f"sample scan {src} is unreadable ({exc})") from exc
        if not ok:
            raise OCTGuardError(f"sample scan {src} does not match its sha256 in {SAMPLES_JSON}")
        out.append(atomic_write_bytes(directory / rec["file"], data))
    atomic_write_bytes(directory / SAMPLES_JSON, (samples_dir() / SAMPLES_JSON).read_bytes())
    return out

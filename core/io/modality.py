"""Which DICOM files are eye images, by what their header says: a CT or MR
slice is refused before its pixels are decoded, with the modality named, so
it never gets a diagnosis (issue 13).

Allowed: the ophthalmic modalities, the general ones a converted or
secondary-capture B-scan carries (OT, SC, XC), and files that say nothing.
Everything else is refused. A file without a Modality but with a known
non-ophthalmic SOP class (CT Image Storage, ...) is refused too, naming it.
"""
from __future__ import annotations

from pydicom.uid import UID

# OPT ophthalmic tomography, OP photography, OPM/OAM/OPR/OPV mapping,
# axial measurements, refraction, visual field; OCT is not a DICOM code but
# some exporters write it. (IVOCT, intravascular OCT, is not retina: refused.) OT other, SC secondary capture (OCTGuard's own
# writer), XC external-camera photography.
OPHTHALMIC = frozenset({"OPT", "OP", "OPM", "OAM", "OPR", "OPV", "OCT"})
GENERAL = frozenset({"OT", "SC", "XC"})

# SOP classes of other modalities, for files that name no modality: the
# UID's name starts with one of these (pydicom's UID dictionary).
OTHER_SOP_PREFIXES = ("CT ", "Enhanced CT", "MR ", "Enhanced MR", "Computed Radiography",
                      "Digital X-Ray", "Digital Mammography", "Ultrasound", "Enhanced US",
                      "Nuclear Medicine", "Positron Emission", "Enhanced PET", "X-Ray",
                      "Enhanced XA", "Breast Tomosynthesis", "RT ", "Legacy Converted Enhanced")


def refusal(modality: str, sop_class: str) -> str | None:
    """None when the file may be an OCT scan, else the one-line reason."""
    mod = (modality or "").strip().upper()
    if mod:
        if mod in OPHTHALMIC or mod in GENERAL:
            return None
        return f"not an OCT scan (modality {mod})"
    name = UID(sop_class).name if sop_class else ""
    if name and name.startswith(OTHER_SOP_PREFIXES):
        return f"not an OCT scan (SOP class {name})"
    return None

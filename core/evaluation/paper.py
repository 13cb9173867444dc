"""The paper's reported figures, for the reports and figures to set beside ours."""
from __future__ import annotations

import math

# The paper's headline figures: Kermany OCT, 1,000 test images, PGD.
PAPER = {
    "source": "Li, Pan, Zhu, ISBI 2021 (arXiv 2006.13555), Kermany OCT, 1000 test images",
    "rows": [
        {"method": "nt", "eps": 0.005, "auprc_average": 0.852, "n_success": 885, "n": 1000,
         "r_f": 0.965, "r_fg": 0.892, "accuracy": 0.115},
        {"method": "gce", "eps": 0.005, "auprc_average": 0.927, "n_success": 970, "n": 1000,
         "r_f": 1.057, "r_fg": 0.713, "accuracy": 0.003},
        {"method": "at", "eps": 0.005, "auprc_average": 0.892, "n_success": 580, "n": 1000,
         "r_f": 0.647, "r_fg": 0.634, "accuracy": 0.42},
        {"method": "ssat", "eps": 0.005, "auprc_average": 0.973, "n_success": 136, "n": 1000,
         "r_f": 0.223, "r_fg": 0.215, "accuracy": 0.864},
        {"method": "ssat", "eps": 0.01, "auprc_average": None, "n_success": None, "n": 1000,
         "r_f": 0.912, "r_fg": 0.450, "accuracy": 0.175},
    ],
}


def paper_row(method: str | None, eps: float) -> dict | None:
    for r in PAPER["rows"]:
        if method and r["method"] == method.lower() and math.isclose(r["eps"], eps):
            return r
    return None

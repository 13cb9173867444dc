"""A DICOM whose header says it is not an eye image is refused by name,
before its pixels are decoded; ophthalmic and unlabelled ones pass."""
import json
import subprocess
import sys

import pytest

from bench.ood_kinds import SOP, write_dicom
from core.errors import NotOCTError, ScanError
from core.io import load_scan
from core.io.modality import refusal

@pytest.mark.parametrize("modality", ["CT", "MR", "DX"])
def test_other_modalities_are_refused_by_name(tmp_path, modality):
    p = write_dicom(tmp_path / f"{modality}.dcm", modality)
    with pytest.raises(NotOCTError) as info:
        load_scan(p)
    assert isinstance(info.value, ScanError)
    assert info.value.reason == f"not an OCT scan (modality {modality})"


def test_a_ct_sop_class_without_modality_is_refused(tmp_path):
    p = write_dicom(tmp_path / "ct-nomod.dcm", None, "CT")
    with pytest.raises(NotOCTError, match=r"not an OCT scan \(SOP class CT Image Storage\)"):
        load_scan(p)


@pytest.mark.parametrize("modality,sop", [("OPT", "OPT"), ("OP", "SC"), ("OT", "SC"), (None, "SC"),
                                          (None, "OPT")])
def test_ophthalmic_and_unlabelled_files_pass(tmp_path, modality, sop):
    scan = load_scan(write_dicom(tmp_path / "ok.dcm", modality, sop))
    assert scan.frames.shape == (1, 64, 64)


def test_rule_table():
    assert refusal("ct", "") == "not an OCT scan (modality CT)"
    assert refusal(" US ", "") == "not an OCT scan (modality US)"
    assert refusal("IVOCT", "") is not None          # intravascular OCT is not the retina
    for ok in ("OPT", "OP", "OAM", "OT", "SC", ""):
        assert refusal(ok, SOP["SC"]) is None


def test_predict_refuses_a_ct_in_one_line_with_the_input_exit_code(tmp_path):
    p = write_dicom(tmp_path / "slice.dcm", "CT")
    run = subprocess.run([sys.executable, "-m", "core.cli", "predict", str(p), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    rec = json.loads(run.stdout.strip().splitlines()[-1])
    assert rec["ok"] is False and rec["error"] == "slice.dcm: not an OCT scan (modality CT)"
    assert run.stderr.strip().splitlines()[-1] == "octguard: slice.dcm: not an OCT scan (modality CT)"
    assert "Traceback" not in run.stderr

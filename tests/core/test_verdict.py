"""core.verdict: the one accept/reject rule, used by the analyser with or
without a threshold override, and the one formatter."""
import numpy as np
import pytest

from core.analysis import Analyzer, FrameResult
from core.model_store import load_model_dir
from core.phantoms import make_phantom
from core.random_model import write_random_model
from core.scan import Scan
from core.verdict import (ACCEPTED, GATE, NO_CONTENT, NOT_OCT, REJECTED, UNSCREENED, decide,
                          decide_many, frame_line, frame_text)


def test_rule_order():
    assert decide(5.0, 1.0) == (ACCEPTED, None)
    assert decide(0.5, 1.0) == (REJECTED, GATE)
    assert decide(float("nan"), 1.0) == (REJECTED, GATE)
    assert decide(None, None) == (UNSCREENED, None)
    assert decide(5.0, 1.0, content=False) == (REJECTED, NO_CONTENT)
    assert decide(5.0, 1.0, oct_like=False) == (REJECTED, NOT_OCT)
    assert decide(None, None, oct_like=False) == (REJECTED, NOT_OCT)   # no gate still refuses
    assert decide(5.0, 1.0, content=False, oct_like=False) == (REJECTED, NO_CONTENT)
    np.testing.assert_array_equal(decide_many([5, 0.5, 5], [1, 1, 1], [True, True, False]),
                                  [True, False, False])


@pytest.fixture(scope="module")
def open_gate(tmp_path_factory):
    d, _, _ = write_random_model(tmp_path_factory.mktemp("v") / "m", offset=-1e12)
    return load_model_dir(d, device="cpu")


def test_blank_frame_with_a_threshold_override_is_still_rejected(open_gate):
    # the bug: the viewer's override replaced the whole rule, so a blank
    # frame showed as Accepted once the user had set a threshold
    blank = Scan(np.full((1, 96, 128), 0.5, np.float32))
    phantom = Scan(make_phantom("CNV", 3, 96, 128)[None])
    low = -1e15                                     # accepts every score
    for an in (Analyzer(open_gate, threshold_override=low), Analyzer(open_gate).with_threshold(low)):
        fr = an.analyze(blank).frames[0]
        assert fr.threshold == low and fr.score >= fr.threshold
        assert (fr.verdict, fr.reason, fr.accepted) == (REJECTED, NO_CONTENT, False)
        ok = an.analyze(phantom).frames[0]
        assert (ok.verdict, ok.accepted, ok.threshold) == (ACCEPTED, True, low)
    high = Analyzer(open_gate, threshold_override=1e15).analyze(phantom).frames[0]
    assert (high.verdict, high.reason) == (REJECTED, GATE)


def test_the_folder_job_applies_the_override_through_the_rule(open_gate, tmp_path):
    from PIL import Image

    from app.jobs import analyze_folder
    from core.progress import Progress
    Image.fromarray(np.full((96, 128), 128, np.uint8)).save(tmp_path / "blank.png")
    Image.fromarray((make_phantom("DME", 1, 96, 128) * 255).astype(np.uint8)).save(tmp_path / "scan.png")
    rows = []
    analyze_folder(sorted(tmp_path.glob("*.png")), Analyzer(open_gate), -1e15, Progress(), rows.append)
    verdicts = {r.path.name: (r.result.frames[0].verdict, r.result.frames[0].reason) for r in rows}
    assert verdicts == {"blank.png": (REJECTED, NO_CONTENT), "scan.png": (ACCEPTED, None)}


def test_not_oct_images_are_refused_before_the_gate(open_gate):
    yy, xx = np.mgrid[0:96, 0:128].astype(np.float32)
    gradient = Scan((xx / 127)[None])
    fr = Analyzer(open_gate).analyze(gradient).frames[0]
    assert (fr.verdict, fr.reason) == (REJECTED, NOT_OCT) and fr.why
    fr = Analyzer(open_gate, check_oct=False).analyze(gradient).frames[0]
    assert fr.verdict == ACCEPTED


def test_as_dict_keeps_score_and_accepted_and_round_trips(open_gate):
    fr = Analyzer(open_gate).analyze(Scan(make_phantom("NORMAL", 2, 96, 128)[None])).frames[0]
    d = fr.as_dict()
    assert {"score", "accepted", "verdict", "reason", "threshold", "label"} <= set(d)
    assert d["accepted"] is True and d["verdict"] == ACCEPTED and d["reason"] is None
    assert FrameResult.from_dict(d) == fr


def _fr(verdict, reason=None, score=2.0, why=""):
    return FrameResult(0, "CNV", {"CNV": 0.7, "DME": 0.1, "DRUSEN": 0.1, "NORMAL": 0.1},
                       score, None if score is None else 1.0, verdict, reason, why)


def test_one_formatter_for_every_state():
    assert frame_line(_fr(ACCEPTED), "a.png") == "a.png: CNV p=0.700  gate 2.0 (threshold 1.0)  accepted"
    assert frame_line(_fr(REJECTED, GATE)).endswith("REJECTED by the gate")
    assert frame_line(_fr(UNSCREENED, score=None)) == "CNV p=0.700  not screened (no gate)"
    refused = frame_line(_fr(REJECTED, NOT_OCT, why="no speckle texture"), "x.png")
    assert refused == "x.png: REFUSED: not OCT (no speckle texture)" and "CNV" not in refused
    assert "CNV" not in frame_line(_fr(REJECTED, NO_CONTENT))
    assert "Prediction: CNV (70.0%)" in frame_text(_fr(ACCEPTED))
    assert "not reliable: CNV" in frame_text(_fr(REJECTED, GATE))
    text = frame_text(_fr(REJECTED, NOT_OCT, why="no bright band across the frame"))
    assert "does not look like an OCT" in text and "CNV" not in text

"""Analyzer: per-frame results, gate verdicts, and frames with no content."""
import numpy as np

from core.analysis import Analyzer
from core.model_store import load_model_dir
from core.random_model import write_random_model
from core.scan import Scan


def test_blank_frames_are_rejected_even_when_the_gate_accepts_everything(tmp_path):
    d, _, _ = write_random_model(tmp_path / "m", offset=-1e12)  # the gate accepts any score
    # the content rule alone: noise and faint stripes are not OCT (test_verdict covers that)
    analyzer = Analyzer(load_model_dir(d, device="cpu"), check_oct=False)
    rng = np.random.default_rng(0)
    frames = np.stack([np.full((40, 48), 0.5), np.zeros((40, 48)), np.ones((40, 48)),
                       rng.uniform(0, 1, (40, 48)), np.full((40, 48), 0.5) + 2 / 255 * (np.arange(48) % 2)])
    res = analyzer.analyze(Scan(frames.astype(np.float32)))
    assert [f.accepted for f in res.frames] == [False, False, False, True, True]
    assert [f.frame for f in res.frames] == [0, 1, 2, 3, 4]
    for f in res.frames:
        assert abs(sum(f.probabilities.values()) - 1) < 1e-5 and f.score >= f.threshold


def test_analyze_many_matches_one_by_one(tmp_path):
    d, _, _ = write_random_model(tmp_path / "m", features="phantoms", offset=0.0)
    analyzer = Analyzer(load_model_dir(d, device="cpu"), batch_size=3)
    rng = np.random.default_rng(1)
    scans = [Scan(rng.uniform(0, 1, (k, 40, 48)).astype(np.float32)) for k in (1, 2, 1, 3, 1)]
    many = analyzer.analyze_many(scans)
    for scan, res in zip(scans, many):
        alone = analyzer.analyze(scan)
        assert [f.frame for f in res.frames] == list(range(scan.n_frames))
        for a, b in zip(res.frames, alone.frames):
            assert a.label == b.label and a.accepted == b.accepted
            assert abs(a.score - b.score) < 1e-3 * max(1.0, abs(b.score))


def test_prepared_inputs_give_the_same_answers(tmp_path):
    # the folder job prepares single B-scans on its loader threads
    d, _, _ = write_random_model(tmp_path / "m", features="phantoms", offset=0.0)
    analyzer = Analyzer(load_model_dir(d, device="cpu"), batch_size=3)
    rng = np.random.default_rng(2)
    scans = [Scan(rng.uniform(0, 1, (k, 40, 48)).astype(np.float32)) for k in (1, 2, 1, 3, 1)]
    inputs = [analyzer.prepare(s) if s.n_frames == 1 else None for s in scans]
    assert inputs[0].shape == (1, 1, analyzer.loaded.input_size, analyzer.loaded.input_size)
    plain = analyzer.analyze_many(scans)
    ready = analyzer.analyze_many(scans, inputs=inputs)
    for a, b in zip(plain, ready):
        assert [f.as_dict() for f in a.frames] == [f.as_dict() for f in b.frames]

"""The detection gate against scikit-learn, its calibration and its storage."""
import json

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from core.errors import ModelError
from core.gate import GaussianGate

D = 6


def _blobs(rng, n_per_class, d=D, classes=(0, 1, 2)):
    """Per-class Gaussian clouds with different means and correlated axes;
    the shapes are fixed, ``rng`` only draws the samples."""
    feats, labels = [], []
    for c in classes:
        mix = np.random.default_rng(100 + c).normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
        feats.append(rng.normal(size=(n_per_class, d)) @ mix + 3.0 * c)
        labels.append(np.full(n_per_class, c))
    return np.concatenate(feats), np.concatenate(labels)


@pytest.mark.parametrize("cov", ["full", "diag"])
@pytest.mark.parametrize("k", [1, 2])
def test_score_samples_equals_sklearn(cov, k):
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 80)
    gate = GaussianGate(n_components=k, covariance_type=cov, reg_covar=1e-3, random_state=0).fit(Z, y)
    Zt, yt = _blobs(np.random.default_rng(1), 20)
    pred = rng.permutation(yt)  # scored under the *predicted* class, right or wrong
    ours = gate.score_samples(Zt, pred)
    for c in (0, 1, 2):
        gm = GaussianMixture(k, covariance_type=cov, reg_covar=1e-3, random_state=0,
                             max_iter=200).fit(Z[y == c])
        np.testing.assert_allclose(ours[pred == c], gm.score_samples(Zt[pred == c]), rtol=1e-9, atol=1e-9)


def test_log_likelihood_torch_is_differentiable_and_matches():
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 60)
    gate = GaussianGate(n_components=2).fit(Z, y)
    z = torch.tensor(Z[:10], requires_grad=True)
    idx = torch.as_tensor(y[:10])
    ll = gate.log_likelihood_torch(z, idx)
    (g,) = torch.autograd.grad(ll.sum(), z)
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    np.testing.assert_allclose(ll.detach().numpy(), gate.score_samples(Z[:10], y[:10]))
    # moving a feature towards its class mean raises its likelihood
    mean = torch.as_tensor(gate.means_[y[0], 0])
    closer = z[:1].detach() + 0.5 * (mean - z[:1].detach())
    assert gate.log_likelihood_torch(closer, idx[:1]) > ll[:1]


def test_calibrate_gives_the_stated_rejection_rate():
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 100)
    held, held_y = _blobs(np.random.default_rng(1), 400)
    fresh, fresh_y = _blobs(np.random.default_rng(2), 400)
    gate = GaussianGate(rejection_rate=0.1).fit(Z, y).calibrate(held, held_y)
    on_held = np.mean(gate.predict(held, held_y) == -1)
    assert abs(on_held - 0.1) <= 0.01  # a quantile per class: exact up to ties
    on_fresh = np.mean(gate.predict(fresh, fresh_y) == -1)
    assert 0.06 <= on_fresh <= 0.14  # ~3 binomial sd at n = 1200
    np.testing.assert_allclose(gate.decision_function(fresh, fresh_y),
                               gate.score_samples(fresh, fresh_y) - gate.threshold_for(fresh_y))


def test_uncalibrated_gate_accepts_all_and_unknown_class_is_refused():
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 30)
    gate = GaussianGate().fit(Z, y)
    assert (gate.predict(Z, y) == 1).all()
    with pytest.raises(ValueError):
        gate.score_samples(Z[:2], np.array([0, 7]))


def test_float32_features_are_fitted_in_float64():
    rng = np.random.default_rng(0)
    # fewer samples than dimensions, with a tiny-variance direction:
    # the shape of real 512-d features per class
    d, n = 40, 30
    Z = rng.normal(size=(2 * n, d)) * np.r_[np.ones(d - 1), 1e-4]
    Z = Z.astype(np.float32)
    y = np.repeat([0, 1], n)
    gate = GaussianGate(covariance_type="full", reg_covar=1e-3).fit(Z, y)
    assert gate.means_.dtype == np.float64 and gate.precisions_cholesky_.dtype == np.float64
    s = gate.score_samples(Z, y)
    assert s.dtype == np.float64 and np.isfinite(s).all()
    np.testing.assert_allclose(s, gate.score_samples(Z.astype(np.float64), y))


def test_ledoit_wolf_gate_scores_finite():
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 5, d=20)  # fewer samples than dimensions
    gate = GaussianGate(covariance_type="lw").fit(Z, y)
    s = gate.score_samples(Z, y)
    assert np.isfinite(s).all()
    far = gate.score_samples(Z + 50.0, y)
    assert (far < s).all()


@pytest.fixture
def saved_gate(tmp_path):
    rng = np.random.default_rng(0)
    Z, y = _blobs(rng, 60)
    gate = GaussianGate(n_components=2, covariance_type="diag").fit(Z, y).calibrate(*_blobs(rng, 30))
    gate.save(tmp_path, classifier_sha256="a" * 64)
    return gate, tmp_path, Z, y


def test_save_load_round_trip_gives_identical_scores(saved_gate):
    gate, path, Z, y = saved_gate
    loaded = GaussianGate.load(path, classifier_sha256="a" * 64)
    np.testing.assert_array_equal(loaded.score_samples(Z, y), gate.score_samples(Z, y))
    np.testing.assert_array_equal(loaded.offset_, gate.offset_)
    np.testing.assert_array_equal(loaded.predict(Z, y), gate.predict(Z, y))
    assert (loaded.n_components, loaded.covariance_type) == (2, "diag")


def test_load_refuses_other_classifier(saved_gate):
    _, path, _, _ = saved_gate
    with pytest.raises(ModelError, match="different classifier"):
        GaussianGate.load(path, classifier_sha256="b" * 64)


def test_load_refuses_tampered_npz(saved_gate):
    gate, path, _, _ = saved_gate
    np.savez(path / "gate.npz", classes=gate.classes_, weights=gate.weights_,
             means=gate.means_ + 1.0, precisions_cholesky=gate.precisions_cholesky_,
             offset=gate.offset_)
    with pytest.raises(ModelError, match="sha256"):
        GaussianGate.load(path, classifier_sha256="a" * 64)


@pytest.mark.parametrize("damage", ["no_npz", "bad_json", "no_key", "format"])
def test_load_damaged_directory_raises_model_error(saved_gate, damage):
    _, path, _, _ = saved_gate
    meta = json.loads((path / "gate.json").read_text())
    if damage == "no_npz":
        (path / "gate.npz").unlink()
    elif damage == "bad_json":
        (path / "gate.json").write_text("{not json")
    elif damage == "no_key":
        del meta["n_components"]
        (path / "gate.json").write_text(json.dumps(meta))
    else:
        meta["format"] = 99
        (path / "gate.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError):
        GaussianGate.load(path, classifier_sha256="a" * 64)

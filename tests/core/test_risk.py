"""Risk (paper Eq. 2-3), risk categories, gate AUPRC and bootstrap, on small
cases worked out by hand."""
import math

import numpy as np
import pytest

from core.risk import (ACCEPTED_CORRECT, ACCEPTED_WRONG, REJECTED, adversarial_risk,
                       bootstrap_ci, gate_auprc, risk_categories)

# six paired test cases; the comments give each case's role
Y = [0, 0, 1, 1, 2, 2]
CLEAN_PRED = [0, 1, 1, 0, 2, 2]            # wrong: 1, 3
CLEAN_ACC = [True, True, False, True, True, False]   # rejected: 2, 5
ADV_PRED = [1, 0, 2, 1, 0, 1]              # wrong: 0, 2, 4, 5
ADV_ACC = [True, True, True, False, False, True]     # accepted and wrong: 0, 2, 5


def test_counts_and_risks_by_hand():
    r = adversarial_risk(Y, CLEAN_PRED, CLEAN_ACC, ADV_PRED, ADV_ACC)
    assert r.n == 6
    assert r.n_cln_inc_fg == 2     # cases 1 and 3: accepted, wrong
    assert r.n_cln_rej_g == 2      # cases 2 and 5
    assert r.n_adv_inc_fg == 3     # cases 0, 2, 5
    assert r.n_cln_inc_f == 2
    assert r.n_adv_inc_f == 4
    assert r.R_fg == 7 and r.R_f == 6
    assert r.r_fg == pytest.approx(7 / 6) and r.r_f == pytest.approx(1.0)


def test_weights():
    r = adversarial_risk(Y, CLEAN_PRED, CLEAN_ACC, ADV_PRED, ADV_ACC,
                         r_cln_prd=2.0, r_cln_uad=0.5, r_adv_prd=3.0)
    assert r.R_fg == 2 * 2 + 2 * 0.5 + 3 * 3
    assert r.R_f == 2 * 2 + 4 * 3
    assert r.r_fg == pytest.approx(14 / 6)


def test_rejected_wrong_clean_counts_once_as_rejection():
    # clean image misclassified *and* rejected: only N_cln_rej(g) counts it
    r = adversarial_risk([0], [1], [False], [0], [True])
    assert (r.n_cln_inc_fg, r.n_cln_rej_g, r.n_cln_inc_f) == (0, 1, 1)
    assert (r.R_fg, r.R_f) == (1.0, 1.0)


def test_a_gate_that_accepts_everything_changes_nothing():
    ones = [True] * 6
    r = adversarial_risk(Y, CLEAN_PRED, ones, ADV_PRED, ones)
    assert r.R_fg == r.R_f


def test_unpaired_lengths_are_refused():
    with pytest.raises(ValueError):
        adversarial_risk([0, 1], [0, 1], [True, True], [0], [True])


def test_categories():
    cats = risk_categories(Y, ADV_PRED, ADV_ACC)
    assert list(cats) == [ACCEPTED_WRONG, ACCEPTED_CORRECT, ACCEPTED_WRONG,
                          REJECTED, REJECTED, ACCEPTED_WRONG]
    assert (cats == ACCEPTED_WRONG).sum() == adversarial_risk(
        Y, CLEAN_PRED, CLEAN_ACC, ADV_PRED, ADV_ACC).n_adv_inc_fg


def test_auprc_by_hand():
    # class 0: clean scores 5, 3, 4.5; successful attacks scored 1 and 4; an
    #   unsuccessful attack (score -9) must be ignored. Ranked by -score:
    #   pos(-1) neg(-3) pos(-4) neg(-4.5) neg(-5) -> AP = (1/1 + 2/3) / 2 = 5/6
    # class 1: attacks score below every clean image -> AP = 1
    # class 2: no successful attack -> NaN, left out of the average
    y = [0, 0, 0, 1, 1, 2, 2]
    clean = [5, 3, 4.5, 2, 3, 1, 1]
    adv_pred = [1, 2, 0, 0, 0, 2, 2]
    adv = [1, 4, -9, -1, 0, 0, 0]
    out = gate_auprc(y, clean, adv_pred, adv)
    assert out[0] == pytest.approx(5 / 6)
    assert out[1] == pytest.approx(1.0)
    assert math.isnan(out[2])
    assert out["average"] == pytest.approx((5 / 6 + 1) / 2)


def test_auprc_of_a_useless_gate_is_chance():
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.integers(0, 2, n)
    out = gate_auprc(y, rng.normal(size=n), 1 - y, rng.normal(size=n))
    # every attack succeeds: one positive per negative in each class
    assert out["average"] == pytest.approx(0.5, abs=0.03)


def test_bootstrap_ci():
    rng = np.random.default_rng(1)
    hits = rng.random(400) < 0.3
    est, lo, hi = bootstrap_ci(lambda i: hits[i].mean(), len(hits), n_boot=500, seed=0)
    assert est == hits.mean() and lo < est < hi
    half_width = 1.96 * math.sqrt(est * (1 - est) / len(hits))  # normal approximation
    assert (hi - lo) / 2 == pytest.approx(half_width, rel=0.2)
    assert bootstrap_ci(lambda i: hits[i].mean(), len(hits), n_boot=500, seed=0) == (est, lo, hi)
    # a constant statistic has a zero-width interval
    assert bootstrap_ci(lambda i: 1.0, 10, n_boot=50) == (1.0, 1.0, 1.0)


def test_bootstrap_draws_whole_test_sets_with_replacement():
    seen = []
    bootstrap_ci(lambda i: seen.append(i) or 0.0, 50, n_boot=20)
    assert len(seen) == 21 and all(len(i) == 50 for i in seen)
    np.testing.assert_array_equal(seen[0], np.arange(50))  # the estimate uses every case
    assert all(len(np.unique(i)) < 50 for i in seen[1:])    # resamples repeat cases

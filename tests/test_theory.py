"""Closed-form theory against the reference values and checks of docs/THEORY.md §6 and §8."""

import math

import numpy as np
import pytest

from scansnap_core.scan_snap import theory as th

K, M, EZ = 10, 1000, 0.5
ETAS = (0.5, 1.0, 2.0, 5.0)


def test_omega1_values_of_lemma8():
    for m, expected in [(34, 0.455), (100, 0.403), (1000, 0.320), (10_000, 0.267)]:
        assert th.omega1(m) == pytest.approx(expected, abs=5e-4)


def test_fig3_reference_times_and_growth_factors():
    assert [round(th.t0_prime(K, M, e), 1) for e in ETAS] == [138.2, 69.1, 34.5, 13.8]
    assert [round(th.t0(K, M, e), 1) for e in ETAS] == [364.7, 182.3, 91.2, 36.5]
    assert [round(th.t0_approx(K, M, e), 1) for e in ETAS] == [276.3, 138.2, 69.1, 27.6]
    B700 = [float(th.B_exact(700, K, M, e, EZ)) for e in ETAS]
    np.testing.assert_allclose(B700, [1.906, 1.774, 1.635, 1.446], atol=1.5e-3)
    np.testing.assert_allclose(np.exp(2 * np.array(B700)), [45.2, 34.7, 26.3, 18.0], atol=0.06)


def test_B_at_t0_is_invariant_when_both_rates_scale_together():
    values = [float(th.B_exact(th.t0(K, M, s), K, M, s, s)) for s in (0.3, 1.0, 4.0)]
    np.testing.assert_allclose(values, 1.8538, atol=1e-4)


def test_exact_and_paper_forms_differ_by_quarter_log_C0():
    t = np.linspace(0, 500, 11)
    for C0 in (0.5, 1.0, 3.0):
        np.testing.assert_allclose(th.B_paper(t, K, M, 1, EZ, C0) - th.B_exact(t, K, M, 1, EZ, C0),
                                   0.25 * math.log(C0), atol=1e-12)
    assert th.B_exact(0.0, K, M, 1, EZ) == 0.0


def test_h_solves_eqn45_and_gamma_peak_depends_only_on_M():
    s = np.geomspace(1e-3, 1e5, 200)
    hh = th.h(s, M, 1.3)
    np.testing.assert_allclose(np.exp(M * hh) + (M - 1) * M * hh, M * 1.3 * s + 1, rtol=1e-10)
    peaks = {}
    for k, eta in [(10, 1.0), (10, 4.0), (40, 1.0)]:
        t = np.linspace(0, 4 * k * math.log(M) / eta, 40_001)
        g = th.gamma(t, k, M, eta)
        peaks[(k, eta)] = (g.max(), t[g.argmax()])
    heights = [p[0] for p in peaks.values()]
    np.testing.assert_allclose(heights, 4.42, atol=0.01)  # §4: ≈4.42 for M = 1000, whatever η_Y and K
    base = peaks[(10, 1.0)][1]
    assert base == pytest.approx(0.82 * 10 * math.log(M), rel=0.01)
    assert peaks[(10, 4.0)][1] == pytest.approx(base / 4, rel=0.01)  # peak time ∝ K/η_Y
    assert peaks[(40, 1.0)][1] == pytest.approx(base * 4, rel=0.01)


def test_eqn14_branches_approach_eqn129_in_their_regimes():
    early = np.array([0.02, 0.05]) * th.t0_prime(K, M, 1.0)
    late = np.array([50.0, 200.0]) * th.t0(K, M, 1.0)
    np.testing.assert_allclose(th.B_early(early, K, M, 1.0, EZ), th.B_paper(early, K, M, 1.0, EZ), rtol=0.02)
    rel_late = np.abs(th.B_late(late, K, M, 1.0, EZ) / th.B_paper(late, K, M, 1.0, EZ) - 1)
    assert rel_late[1] < rel_late[0] < 0.15  # converging as t grows
    assert np.isnan(th.B_late(0.0, K, M, 1.0, EZ))


def test_B_curves_cross_and_smallest_eta_y_wins_late():
    t_early, t_late = 5.0, 5e4
    early = [float(th.B_exact(t_early, K, M, e, EZ)) for e in ETAS]
    late = [float(th.B_exact(t_late, K, M, e, EZ)) for e in ETAS]
    assert early == sorted(early)  # early: larger η_Y, larger B
    assert late == sorted(late, reverse=True)  # late: smallest η_Y largest (sparser)


def test_B_grows_like_log_t_then_like_loglog_t():
    t1, t2 = 0.05 * th.t0_prime(K, M, 1.0), 0.1 * th.t0_prime(K, M, 1.0)
    slope_log = (th.B_exact(t2, K, M, 1.0, EZ) - th.B_exact(t1, K, M, 1.0, EZ)) / math.log(t2 / t1)
    assert 0.3 < slope_log <= 0.5  # ¼ ln(1 + c t²): slope → ½ in ln t while 4Γ/C0 ≫ 1
    T1, T2 = 1e3 * th.t0(K, M, 1.0), 1e6 * th.t0(K, M, 1.0)
    B1, B2 = th.B_exact(T1, K, M, 1.0, EZ), th.B_exact(T2, K, M, 1.0, EZ)
    slope_loglog = (B2 - B1) / (math.log(math.log(M * T2 / K)) - math.log(math.log(M * T1 / K)))
    assert slope_loglog == pytest.approx(0.5, abs=0.05)  # Eqn 132: ½ ln ln(Mη_Y t/K)
    assert (B2 - B1) / math.log(T2 / T1) < 0.05  # far slower than ln t


def test_common_token_logit_solves_eqn_13():
    """App. F's closed form e^{−4z} = 1 + 4Γ/C0 against a direct integration of Eqn 13,
    ż = −η_Z γ(t) e^{4z} / C0, with γ from an independent bisection of Eqn 45 (RK4, dt = 0.05)."""
    eta_y, C0 = 1.0, 1.0

    def gamma(t):
        lo, hi = 0.0, 50.0  # u = Mh solves e^u + (M−1)u = Mη_Y t/K + 1
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if math.exp(mid) + (M - 1) * mid < M * eta_y * t / K + 1 else (lo, mid)
        return (M - 1) ** 2 * (lo / M) / (M - 1 + math.exp(lo))

    def rate(t, z):
        return -EZ * gamma(t) * math.exp(4 * z) / C0

    z, t, dt = 0.0, 0.0, 0.05
    while t < 100.0 - 1e-9:
        k1 = rate(t, z)
        k2 = rate(t + dt / 2, z + dt / 2 * k1)
        k3 = rate(t + dt / 2, z + dt / 2 * k2)
        k4 = rate(t + dt, z + dt * k3)
        z, t = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), t + dt
    assert th.common_logit(100.0, K, M, eta_y, EZ, C0) == pytest.approx(z, abs=1e-5)
    assert z < -0.3  # the common token really lost attention: the check is not about a number near 0


def test_chi_bounds_are_theorem_3s():
    """e^{2 f²(0) B} ≤ χ ≤ e^{2B}: with B = 1 and f²(0) = 0.25 the bounds are e^{0.5} and e^2."""
    lower, upper = th.chi_bounds(np.array([1.0, 0.5]), 0.25)
    np.testing.assert_allclose(lower, [math.exp(0.5), math.exp(0.25)])
    np.testing.assert_allclose(upper, [math.exp(2.0), math.exp(1.0)])


def test_phase_relation_words():
    pred = th.predicted_times(K, M, 1.0, EZ)  # t0′ = 69.1, t0 = 182.4
    assert [th.phase_relation(t, pred) for t in (10, 69.0, 70, 182, 183)] == [
        "before t0′", "before t0′", "between t0′ and t0", "between t0′ and t0", "after t0"]


def test_momentum_correction_is_explicit():
    plain = th.predicted_times(K, M, 1.0, 1.0, momentum=0.9, correct_momentum=False)
    corrected = th.predicted_times(K, M, 1.0, 1.0, momentum=0.9)
    assert corrected.eta_y == pytest.approx(10.0) and corrected.momentum_corrected
    assert corrected.t0_prime == pytest.approx(plain.t0_prime / 10) and not plain.momentum_corrected


def test_assumption_notes_for_one_run_and_for_a_grid():
    from scansnap_core.scan_snap.presets import preset
    from scansnap_core.scan_snap.sweep import fig6_configs

    assert th.assumption_note(preset("fig3", mode="expected", eta_y=5.0)) == ""  # η_Y/η_Z = 10: inside
    adam = th.assumption_note(preset("syn-small", optimizer="adam"))
    assert adam.startswith("Outside the theory's assumptions: Adam") and "momentum" not in adam
    grid = th.assumption_note(*fig6_configs(num_query=(1,), eta_z=(1.0,), ratio=(1.0, 2.0, 10.0), seeds=(1,)))
    assert grid.count("η_Y/η_Z") == 1 and "below 10 in some runs" in grid and "default init" in grid  # one phrase

"""The measured events, scan peak and snap (scansnap_core/scan_snap/events.py; docs/THEORY.md, "Measured events").

Synthetic ‖ΔZ‖ series with answers worked out by hand, then real runs, where a reported snap
must be one the attention shows: at ``snap_step`` the distinct-token entropy is within 10 % of its
total change (max − min over the run, since Adam's entropy rises and then falls) of its final
value, and the attended distinct tokens read off the records equal the final ones.
"""

import math

import numpy as np
import pytest

from scansnap_core.scan_snap import theory
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.events import SNAP_FRACTION, SPEED_WINDOW, detect_events, smoothed_speed
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import Composition, RunData, attended_distinct, composition_at_snap, summarize

STEPS = np.arange(1, 101)
#: a symmetric triangle: ‖ΔZ‖ peaks at step 30 and is 0 from step 40 on
TRIANGLE = np.maximum(0.0, 1.0 - np.abs(STEPS - 30) / 10)


def events(dz, changed=None):
    ev = detect_events(np.asarray(dz, float), None if changed is None else np.asarray(changed, bool))
    return ev.scan_peak_step, ev.snap_step


# ------------------------------------------------------------------ synthetic series
def test_rules_are_the_documented_ones():
    assert (SPEED_WINDOW, SNAP_FRACTION) == (9, 0.05)  # README and docs/THEORY.md quote these


def test_smoothing_uses_full_windows_only():
    out = smoothed_speed(np.arange(1.0, 13.0))
    assert np.isnan(out[:4]).all() and np.isnan(out[-4:]).all()  # no shortened averages at the ends
    np.testing.assert_allclose(out[4:8], [5.0, 6.0, 7.0, 8.0])  # mean of 9 consecutive integers = the middle one
    assert np.isnan(smoothed_speed(np.ones(8))).all()
    # the windows start at the first step that moved, as the events' do: zero init leaves step 1 at 0
    out = smoothed_speed(np.r_[0.0, np.arange(1.0, 12.0)])
    assert np.isnan(out[:5]).all() and out[5] == 5.0


def test_interior_peak_and_snap_of_a_triangle():
    # the smoothed peak sits at the centre, 30.  It is 7/9 there; 5 % of it is 0.039.  The window centred
    # at 41 (steps 37..45) still averages 0.6/9 = 0.067, the one at 42 only 0.3/9 = 0.033: slow from 42,
    # and after 42 the path is 0, so the snap is 42 once the run reaches step 84
    assert events(TRIANGLE) == (30, 42)
    assert events(TRIANGLE[:84]) == (30, 42) and events(TRIANGLE[:83]) == (30, None)


def test_an_early_bump_does_not_steal_the_peak():
    # a one-step spike of 3 at step 6 adds 3/9 = 0.33 to a 9-step window, less than the triangle's 7/9
    # (a 3-step window would make the spike the peak: 3/3 > 2.8/3; a 25-step one ties steps 28..32)
    dz = TRIANGLE.copy()
    dz[5] = 3.0
    assert events(dz) == (30, 42)


def test_noise_is_averaged_out():
    rng = np.random.default_rng(0)
    noisy = TRIANGLE * np.clip(1 + 0.3 * rng.standard_normal(100), 0, None)
    assert events(noisy)[0] == 30


def test_a_left_edge_peak_is_no_scan_peak_but_can_snap():
    # ‖ΔZ‖ = 2^-t only falls: the first full window (centre 5) is the fastest, so there is no scan peak
    # (the old rule reported "snap at step 1").  Windows fall by half a step: 2^-(c-5) < 0.05 from c = 10
    decreasing = 0.5 ** np.arange(1, 41)
    assert events(decreasing) == (None, 10)
    # zero init: Z cannot move at step 1; the windows start at the first step that moved (centre 6)
    assert events(np.r_[0.0, decreasing[:-1]]) == (None, 11)


def test_constant_rising_and_dipping_series_have_no_events():
    assert events(np.ones(50)) == (None, None)  # never slows down
    assert events(np.linspace(0.1, 1.0, 50)) == (None, None)  # still rising at the end: no peak yet
    dip = np.r_[np.linspace(0.1, 1.0, 30), np.full(5, 0.2), np.linspace(1.0, 1.5, 20)]
    assert events(dip) == (None, None)  # a 5-step dip is no peak: the speed rises again
    assert events(np.zeros(40)) == (None, None)  # never moved
    assert events([0.0, 0.1, 0.2]) == (None, None)  # shorter than one window


def test_a_diverged_run_has_no_events():
    dz = np.r_[TRIANGLE[:60], [np.nan] * 5]
    assert events(dz) == (None, None)


def test_a_later_change_of_the_attended_tokens_moves_the_snap():
    changed = np.zeros(100, bool)
    changed[14] = True  # the attended set changed at step 15
    assert events(0.5 ** np.arange(1, 101), changed) == (None, 15)
    changed[59] = True  # ... and again at step 60: the snap can only be reported from step 120 on
    assert events(0.5 ** np.arange(1, 101), changed) == (None, None)


def test_a_slow_drift_is_not_a_snap():
    # after the triangle a 1/t tail starting at 3 % of the peak: slow enough for the speed rule (from 43:
    # the tail lifts the window at 42 above 5 %), but over steps s+1..2s the logits still travel more
    # than 5 % of their path (7 % in steps 51..100), so nothing counts as frozen
    drift = TRIANGLE + np.where(STEPS > 40, 0.03 * 40 / STEPS, 0.0)
    ev = detect_events(drift)
    assert ev.scan_peak_step == 30 and ev.slow_since == 43 and ev.snap_step is None
    assert ev.late_path_share > SNAP_FRACTION


def reference_events(dz: np.ndarray, changed: np.ndarray) -> tuple:
    """The rules of docs/THEORY.md written out step by step, one run at a time (no vectorisation)."""
    n, half = len(dz), SPEED_WINDOW // 2
    if not np.isfinite(dz).all() or not (dz > 0).any():
        return None, None
    start = int(np.flatnonzero(dz > 0)[0])  # 0-based: the first step that moved
    centres = [c for c in range(start + half, n - half)]  # 0-based centre steps of full windows
    if not centres:
        return None, None
    mean = {c: sum(dz[c - half:c + half + 1]) / SPEED_WINDOW for c in centres}
    peak = max(centres, key=lambda c: (mean[c], -c))  # the first of equal maxima
    scan = peak + 1 if centres[0] < peak < centres[-1] else None
    above = [c for c in centres if mean[c] >= SNAP_FRACTION * mean[peak]]
    if above[-1] == centres[-1]:
        return scan, None
    changes = [t + 1 for t in range(n) if changed[t]]
    candidate = max(above[-1] + 2, max(changes, default=0))
    path = np.r_[0.0, np.cumsum(dz)]
    for s in range(candidate, n // 2 + 1):
        if path[2 * s] > 0 and (path[2 * s] - path[s]) / path[2 * s] <= SNAP_FRACTION:
            return scan, s
    return scan, None


def test_vectorised_detection_matches_the_rules_run_by_run():
    """300 random runs, batched 6 at a time with different lengths of leading zeros, bumps, decays,
    noise and attended-token changes, against the step-by-step reference above."""
    from scansnap_core.scan_snap.events import detect_events_batch

    rng = np.random.default_rng(1)
    n = 120
    t = np.arange(1, n + 1)[:, None]
    for _ in range(50):
        lead = rng.integers(0, 5, 6)
        peak, width = rng.uniform(5, 60, 6), rng.uniform(3, 30, 6)
        dz = np.exp(-(((t - peak) / width) ** 2)) + rng.uniform(0, 0.02, 6) * rng.random((n, 6))
        dz[t[:, 0][:, None] <= lead] = 0.0
        changed = rng.random((n, 6)) < rng.uniform(0, 0.05, 6)
        batch = detect_events_batch(dz, changed)
        for r in range(6):
            expected = reference_events(dz[:, r], changed[:, r])
            got = tuple(None if math.isnan(batch[k][r]) else int(batch[k][r]) for k in ("scan_peak_step", "snap_step"))
            assert got == expected, (r, got, expected)


# ------------------------------------------------------------------ real runs
def entropy_at(data: RunData, step: int) -> float:
    return float(next(r for r in data.records if r.step == step).entropy_distinct[0])


def entropy_from_logits(data: RunData) -> np.ndarray:
    """Distinct-token entropy of every record in float64 from the logits (T→∞ runs move it by 1e-5 nats)."""
    layout = data.layout
    logp = np.log(np.where(layout.support_prob > 0, layout.support_prob, 1.0))
    out = []
    for r in data.records:
        a = np.where(layout.support_distinct, logp + r.logits[0].astype(np.float64), -np.inf)
        p = np.exp(a - a.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        out.append(-plogp.sum(axis=1)[layout.support_distinct.any(axis=1)].mean())
    return np.array(out)


def assert_honest_snap(data: RunData):
    """At the reported snap the attention is where it ends up (see the module docstring)."""
    snap = data.snap_step
    entropy = entropy_from_logits(data)
    at = entropy[list(data.steps).index(snap)]
    assert abs(at - entropy[-1]) <= 0.1 * (entropy.max() - entropy.min())
    record = next(r for r in data.records if r.step == snap)
    np.testing.assert_array_equal(attended_distinct(data, record)[0], attended_distinct(data, data.latest)[0])
    summary = summarize(data)
    assert summary["snap_attended_is_final"] is True and summary["snap_attended"] == summary["final_attended"]


def trained(cfg) -> RunData:
    engine = Engine(cfg)
    engine.step(cfg.train.steps)
    return RunData.from_engine(engine)


@pytest.fixture(scope="module")
def syn_small() -> RunData:
    return trained(preset("syn-small"))


def test_syn_small_sgd_scans_then_snaps(syn_small):
    ev = syn_small.events
    assert 9 <= ev.scan_peak_step <= 13  # the measured peak of ‖ΔZ‖ (README: step 11)
    assert 38 <= ev.snap_step <= 48  # README: step 43, when the logits move at < 5 % of the peak speed
    assert ev.attended_since < ev.snap_step  # the attended tokens settled before the speed did
    assert_honest_snap(syn_small)
    summary = summarize(syn_small)
    assert summary["scan_peak_vs_theory"] == summary["snap_vs_theory"] == "after t0"  # t0 ≈ 2.1 here


def test_replay_shows_only_what_was_detectable(syn_small):
    snap = syn_small.snap_step
    assert syn_small.upto(2 * snap - 1).snap_step is None  # not held long enough yet
    assert syn_small.upto(2 * snap).snap_step == snap
    assert syn_small.upto(8).scan_peak_step is None  # before a full window


@pytest.mark.parametrize("eta, steps, snapped", [(0.1, 100, False), (0.1, 500, True), (0.5, 100, True)])
def test_adam_events_are_described_honestly(eta, steps, snapped):
    """Fig. 5's Adam runs: ‖ΔZ‖ only falls after its first window (no scan peak); with η = 0.1 the
    attended tokens keep changing until step 205, so no snap is claimed before the run reaches 410."""
    data = trained(preset("syn-small", optimizer="adam", eta_y=eta, eta_z=eta, steps=steps))
    ev = data.events
    assert ev.scan_peak_step is None
    assert (ev.snap_step is not None) == snapped
    if snapped:
        assert_honest_snap(data)
    else:
        assert ev.attended_since > 0.5 * steps  # the attended set changed late in the run
    summary = summarize(data)
    assert any(gap.startswith("Adam") for gap in summary["assumption_gaps"])
    assert "Adam: the theory analyses SGD" in summary["events"]


def test_fig3_sampled_and_expected():
    """docs/THEORY.md §6 setting: the scan peak follows 1/η_Y, and in T→∞ mode it falls before t0′ (the
    theory's γ peaks at 0.82 t0′, but ‖ΔZ‖ also shrinks as the attention sparsifies).  Neither run
    snaps within 400 steps: the sampled one still moves at > 5 % of its peak speed, the T→∞ one
    drifts logarithmically (the theory's snapping regime)."""
    sampled = trained(preset("fig3"))
    pred = theory.predictions_for(sampled.config)
    assert pred.t0_prime <= sampled.scan_peak_step <= pred.t0
    assert sampled.snap_step is None and sampled.events.slow_since is None
    expected = trained(preset("fig3", mode="expected"))
    assert expected.scan_peak_step < pred.t0_prime
    ev = expected.events
    assert ev.snap_step is None and ev.candidate is not None and ev.late_path_share > SNAP_FRACTION
    assert f"steps 201–400 carried {ev.late_path_share:.0%} of the logits' path" in summarize(expected)["events"]
    assert summarize(expected)["assumption_gaps"] == ["η_Y/η_Z = 2 (the theory assumes η_Y ≫ η_Z)"]


def test_scan_peak_in_expected_mode_falls_before_t0_prime_for_every_eta_y():
    for eta_y in (0.5, 1.0, 2.0, 5.0):
        cfg = preset("fig3", eta_y=eta_y, mode="expected", steps=200, record_every=10_000)
        engine = Engine(cfg)
        engine.step(cfg.train.steps)
        peak = detect_events(engine.dz_norms[:, 0]).scan_peak_step
        assert peak is not None and peak < theory.t0_prime(cfg.num_classes, cfg.vocab_size, eta_y), eta_y


def test_composition_at_the_snap_reads_the_records(syn_small):
    at_snap = composition_at_snap(syn_small)
    assert at_snap.step == syn_small.snap_step
    assert at_snap == Composition(at_snap.step, Composition.of(syn_small, syn_small.latest).tokens)
    # Syn-Small: each class attends to its most frequent distinct tokens (ids ascend with P(l|n))
    for n, tokens in enumerate(at_snap.tokens):
        distinct = syn_small.layout.support[n][syn_small.layout.support_distinct[n]]
        assert tokens and set(tokens) <= set(distinct.tolist()) and max(tokens) == distinct.max()
    assert composition_at_snap(syn_small.upto(50)) is None

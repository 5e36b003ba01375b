"""Predict, then reveal (issue 17): the questions, the theory's answers and what a real run measured."""

import pytest

from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.predict import (EQUALLY, FALL, MOST_FREQUENT, NO_SNAP, OTHER, questions_for, reveal,
                                             theory_answers)
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import RunData
from scansnap_core.scan_snap.theory import predictions_for


def trained(cfg, steps=None):
    engine = Engine(cfg)
    engine.step(steps or cfg.train.steps)
    return RunData.from_engine(engine)


@pytest.fixture(scope="module")
def sgd_run():
    return trained(preset("syn-small"))


def test_sgd_on_syn_small_does_what_the_theory_says_and_a_matching_prediction_counts(sgd_run):
    answers = {"attended": MOST_FREQUENT, "common": "rise", "snap": "after t0"}
    reveals = {r.question.key: r for r in reveal(sgd_run, answers)}
    assert [(k, r.theory, r.measured) for k, r in reveals.items()] == [
        ("attended", MOST_FREQUENT, MOST_FREQUENT), ("common", FALL, FALL), ("snap", "after t0", "after t0")]
    assert [r.matched for r in reveals.values()] == [True, False, True]
    # the paragraph carries the run's own numbers: its favoured tokens, the logits' change, the snap step
    assert "class 1 favours tokens 16–19, its 4 most frequent" in reveals["attended"].explanation
    assert f"moved by {sgd_run.common_logit_change:+.3g} on average" in reveals["common"].explanation
    assert sgd_run.common_logit_change < -0.1
    assert f"it snapped at step {sgd_run.snap_step}, after t0" in reveals["snap"].explanation


def test_adam_settles_on_another_subset_and_the_explanation_says_the_theorem_does_not_cover_it():
    """The paper's Fig. 5 contrast: Adam at η_Y = η_Z = 0.5 favours tokens 13–17 of class 1, not its top ones."""
    data = trained(preset("syn-small", optimizer="adam", eta_y=0.5, eta_z=0.5))
    attended = reveal(data, {})[0]
    assert attended.theory == MOST_FREQUENT and attended.measured == OTHER and attended.predicted is None
    assert "not SGD from Y = Z = 0" in attended.explanation and "tokens 13–17" in attended.explanation


def test_equally_frequent_distinct_tokens_stay_equal_from_zero_init():
    cfg = preset("syn-small", distinct_weights=((1.0,) * 10, (1.0,) * 10), mode="expected")
    data = trained(cfg, 40)
    assert theory_answers(cfg, data)["attended"] == EQUALLY
    assert reveal(data, {})[0].measured == EQUALLY


def test_a_run_without_common_tokens_is_not_asked_about_them_and_a_short_run_has_no_snap():
    cfg = preset("syn-small", common_global=0, steps=20)
    assert [q.key for q in questions_for(cfg)] == ["attended", "snap"]
    pred = predictions_for(cfg)  # K ln M / η_Y with M = 24, momentum-corrected
    assert f"t0′ = {pred.t0_prime:.3g} and t0 = {pred.t0:.3g} steps" in questions_for(cfg)[-1].text
    snap = reveal(trained(cfg), {"snap": NO_SNAP})[-1]
    assert snap.measured == NO_SNAP and snap.matched and "no snap by step 20" in snap.explanation

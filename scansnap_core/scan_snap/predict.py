"""Predict, then reveal (issue 17): questions about a run that a class can answer from the theory before it
trains, what the theory answers, what the run measured, and a paragraph explaining the difference
(docs/THEORY.md §5, §6 and §10).  Pure functions of a config and a RunData; the page keeps the answers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import RunConfig
from .results import RunData, token_ranges, attended_distinct
from .theory import phase_relation, predictions_for

__all__ = ["Question", "Reveal", "questions_for", "reveal", "theory_answers"]

MOST_FREQUENT, RAREST, EQUALLY, OTHER = ("its most frequent ones", "its rarest ones", "all of them equally",
                                        "some other subset")
RISE, FALL, STILL = "rise", "fall", "barely move"
NO_SNAP = "no snap within the run"
#: |mean change| of the common tokens' logits below which they "barely move"
STILL_TOLERANCE = 0.01


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Reveal:
    """One question after the run: the prediction, the theory's answer, the run's, and why."""

    question: Question
    predicted: str | None
    theory: str
    measured: str
    explanation: str

    @property
    def matched(self) -> bool:
        return self.predicted == self.measured


def questions_for(cfg: RunConfig) -> list[Question]:
    """The questions a run can answer: the common-token one only when the run has common tokens."""
    pred = predictions_for(cfg)
    questions = [Question("attended", "Which of its distinct tokens will each class's attention end up favouring?",
                          (MOST_FREQUENT, RAREST, EQUALLY, OTHER))]
    if cfg.data.common_global + cfg.data.common_per_query > 0:
        questions.append(Question("common", "Will the common tokens' attention logits rise or fall?",
                                  (RISE, FALL, STILL)))
    questions.append(Question(
        "snap", f"When will the attention snap (freeze), against the SGD theory's t0′ = {pred.t0_prime:.3g} and "
                f"t0 = {pred.t0:.3g} steps for this run?",
        ("before t0′", "between t0′ and t0", "after t0", NO_SNAP)))
    return questions


def _inside_theorem_3(cfg: RunConfig) -> bool:
    return cfg.train.optimizer == "sgd" and (cfg.model.init == "zero" or cfg.model.init_scale == 0)


def theory_answers(cfg: RunConfig, data: RunData) -> dict[str, str]:
    """The theory's answer to each question (docs/THEORY.md §5, §6); ``data`` gives the layout's P(l|n)."""
    layout = data.layout
    uniform = all(np.ptp(layout.support_prob[n][layout.support_distinct[n]]) < 1e-12
                  for n in range(len(layout.support)) if layout.support_distinct[n].any())
    return {"attended": EQUALLY if uniform else MOST_FREQUENT, "common": FALL, "snap": "after t0"}


def _favoured(data: RunData) -> tuple[str, list[str]]:
    """The run's answer to "which distinct tokens are favoured" at its last record, and a phrase per class."""
    layout = data.layout
    attended, _ = attended_distinct(data, data.latest)
    kinds, phrases = [], []
    for n in range(len(layout.support)):
        distinct = layout.support_distinct[n]
        chosen = attended[n] & distinct
        prob_in, prob_out = layout.support_prob[n][chosen], layout.support_prob[n][distinct & ~chosen]
        tokens = token_ranges([int(t) for t in layout.support[n][chosen]])
        if not chosen.any() or not prob_out.size:
            kinds.append(EQUALLY)
            phrases.append(f"class {n + 1} favours none of its distinct tokens over the others")
            continue
        if prob_in.min() > prob_out.max():
            kind, how = MOST_FREQUENT, f"its {chosen.sum()} most frequent"
        elif prob_in.max() < prob_out.min():
            kind, how = RAREST, f"its {chosen.sum()} rarest"
        else:
            kind, how = OTHER, f"{chosen.sum()} of its distinct tokens, neither the most frequent nor the rarest"
        kinds.append(kind)
        phrases.append(f"class {n + 1} favours tokens {tokens}, {how} (P(l|n) {prob_in.min():.3g}–{prob_in.max():.3g}"
                       f" against {prob_out.min():.3g}–{prob_out.max():.3g} for the rest)")
    favoured = set(kinds) - {EQUALLY}
    answer = EQUALLY if not favoured else favoured.pop() if len(favoured) == 1 else OTHER
    return answer, phrases


def reveal(data: RunData, predictions: dict[str, str | None]) -> list[Reveal]:
    """Every question of the run's config with the prediction, the theory's answer and the run's (where the run
    leaves the theory's setting is :func:`~scansnap_core.scan_snap.theory.assumption_note`, said once beside)."""
    cfg, step = data.config, data.latest.step
    theory = theory_answers(cfg, data)
    out = []
    for q in questions_for(cfg):
        if q.key == "attended":
            measured, phrases = _favoured(data)
            shown = "; ".join(phrases[:4]) + (f"; … ({len(phrases)} classes)" if len(phrases) > 4 else "")
            setting = "" if _inside_theorem_3(cfg) else (
                " This run is not SGD from Y = Z = 0, where the theorem is proved: initial logits act as a prior, "
                "and Adam rescales every coordinate's step (the paper's Fig. 5 shows it settling on other subsets).")
            text = ("Theory (docs/THEORY.md §5, Theorem 3): under SGD from Y = Z = 0, a distinct token's lead over "
                    "another starts at (P(l|n)/P(l′|n))² − 1 and is multiplied by a growth factor, so the rarest "
                    "distinct tokens fall behind first and each class ends up favouring its most frequent ones "
                    "(all equally if they are equally frequent)." + setting +
                    f" This run, at step {step} (favoured: more than 1.1 × the uniform share of the class's "
                    f"distinct-token attention): {shown}.")
        elif q.key == "common":
            change = data.common_logit_change
            measured = STILL if abs(change) < STILL_TOLERANCE else RISE if change > 0 else FALL
            text = ("Theory (docs/THEORY.md §5, Theorem 2b): with one common token, its attention logit falls, "
                    "because a token that every class shares says nothing about which class it is; Corollary 2 "
                    "extends this to several common tokens when there is one query, the distinct tokens' "
                    "probabilities are the same in every class, each common token has one P(l|n) in every class, "
                    f"and Z = 0 at the start. This run: from step {data.records[0].step} to step {step} the common tokens' logits "
                    f"moved by {change:+.3g} on average (|change| < {STILL_TOLERANCE:g} counts as barely moving).")
        else:
            pred = predictions_for(cfg)
            snap = data.snap_step
            measured = NO_SNAP if snap is None else phase_relation(snap, pred)
            seen = (f"it snapped at step {snap}, {measured}" if snap is not None else
                    f"no snap by step {step}: the rule needs ‖ΔZ‖ below 5 % of its peak with the favoured tokens "
                    "unchanged, for as many steps again as it took to get there")
            text = ("Theory (docs/THEORY.md §6): scanning lasts until about t0′ = K ln M/η_Y = "
                    f"{pred.t0_prime:.3g} steps, and from t0 = 2(1 + ω₁) K ln M/η_Y = {pred.t0:.3g} on the logits "
                    "grow only like ln ln t, so the token combination looks frozen: the theory predicts regimes, not "
                    "one step. The lab calls a run snapped at the first step after its fastest movement from which "
                    "the attention stays slow and its favoured tokens stay the same (§10). This run: " + seen + ".")
        out.append(Reveal(q, predictions.get(q.key), theory[q.key], measured, text))
    return out

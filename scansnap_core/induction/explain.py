"""What the induction-heads page says beside each figure: what to look for, what the theory predicts, and what
this run shows so far (only numbers the run measured or the prior's χ²-MI gives).  Plain text, for the page and
the figure pack."""

from __future__ import annotations

import numpy as np

from .engine import COPYING, SELECTED, InductionView, set_text

__all__ = ["captions", "kpis", "phase_summary"]


def kpis(view: InductionView) -> list[tuple[str, str, str, str | None]]:
    """(label, value, help, note under the value or None) for the page's headline numbers."""
    stage = view.stage_now
    heads = view.selected
    loss = f"{view.latest_loss:.3f}" if np.isfinite(view.loss).any() else "–"
    mass = f"{view.matching_mass[-1]:.0%}" if view.matching_mass.size and np.isfinite(view.matching_mass[-1]) else "–"
    return [
        ("Stage", stage.name.split(" · ")[0] if stage else ("done" if view.step else "–"),
         "which parameters train now", stage.name.split(" · ")[1] if stage and " · " in stage.name else
         (stage.name if stage else None)),
        ("Selected heads", set_text(heads) if heads else "none yet",
         "the head subset with the largest selector weight p_S", f"p = {view.selector[-1].max():.2f}"),
        ("They copy distances", set_text(view.copied(heads)) if heads else "–",
         "the distance each selected head attends to most",
         f"true parents {set_text(view.config.parents)}"),
        ("Scale a", f"{view.scale[-1]:.2f}", "the second layer's scale", None),
        ("Training loss", loss, "on the training sequences; the reference losses are there too",
         f"Bayes {view.references.bayes:.3f}"),
        ("Matching mass", mass, "layer-2 attention on validation positions whose history matches the query's, "
                                "measured every 10 steps", None),
    ]


def phase_summary(view: InductionView) -> str:
    """One paragraph: the phases reached so far, against the theory's S*."""
    best, parents = view.theory.best, view.config.parents
    parts = [f"Theory: the modified χ²-MI is largest for distances {set_text(best)}, so stage I should put the "
             f"selector on heads {set_text(best)} (head h starts out preferring distance h); the true parents are "
             f"{set_text(parents)}."]
    t1, t2 = view.t_selected, view.t_copying
    if t1 is not None:
        parts.append(f"This run: p on heads {set_text(best)} passed {SELECTED:.0%} at step {t1} (t_I).")
    elif view.step:
        heads = view.selected
        parts.append(f"This run: p on heads {set_text(best)} has not passed {SELECTED:.0%}; the largest weight is "
                     f"on heads {set_text(heads)} (p = {view.selector[-1].max():.2f}).")
        own = float(np.diagonal(view.rpe[0]).min())
        if heads and heads != best and own < 0.9:
            parts.append(f"The theory takes each head to start close to one distance; here a head starts with only "
                         f"{own:.0%} of its position weight on its own distance (w₊ = {view.config.w_plus:g}), so it "
                         "also carries its neighbours' tokens: a larger w₊ brings the run closer to the theory.")
    if t2 is not None:
        heads = view.chosen(t2)
        parts.append(f"Every selected head put ≥ {COPYING:.0%} on one distance at step {t2} (t_II): heads "
                     f"{set_text(heads)} copy distances {set_text(view.copied(heads, t2))}.")
    return " ".join(parts)


def captions(view: InductionView) -> dict[str, str]:
    """A caption per figure (the keys of figures.FIGURES)."""
    theory, refs = view.theory, view.references
    best = theory.best
    rpe, start = view.rpe[-1], view.rpe[0]
    selected = view.selected
    unselected = [h for h in range(1, rpe.shape[0] + 1) if h not in selected]
    moved = float(np.abs(rpe[[h - 1 for h in unselected]] - start[[h - 1 for h in unselected]]).max()) \
        if unselected else 0.0
    grew = np.diff(view.scale)
    gap = view.latest_loss - refs.bayes
    return {
        "selector": "Look for one band taking over. Theory: stage I (training the selector alone) puts all of p on "
                    f"S* = argmax Ĩ, here heads {set_text(best)}. This run now: heads {set_text(selected)} hold "
                    f"p = {view.selector[-1].max():.2f}.",
        "mutual_info": f"From the prior, not the model. The modified Ĩ trades how much a set tells against how many "
                       f"configurations it has; its argmax is {set_text(best)}. The ordinary I never decreases when a set "
                       "grows, so on its own it always favours the largest sets.",
        "rpe": "Look for the selected heads' rows turning one-hot. Theory: in stage II each selected head becomes a "
               "copier of its parent, and heads outside the selected set get no gradient."
               + (f" This run: the unselected heads moved by at most {moved:.3f} since step 0." if unselected else ""),
        "scale": "Theory: in stage III a only grows, fast and then slowly; as a → ∞ the second layer attends only to "
                 f"positions whose history matches. This run: a = {view.scale[-1]:.2f}"
                 + (", never decreasing so far" if view.step and (grew >= -1e-9).all() else "") + ".",
        "loss": f"Until a grows the model predicts the in-context unigram ({refs.unigram:.3f}). Theory: the trained "
                f"model nears the Bayes-optimal loss ({refs.bayes:.3f}). This run: "
                + (f"{view.latest_loss:.3f}, {gap:+.3f} nats from Bayes." if np.isfinite(gap) else "not measured yet."),
        "attention": "Green bars: positions whose history (the tokens at the copied distances before them) equals the "
                     "query's. Theory: as a grows, the attention concentrates on them and the model becomes the "
                     "generalized induction head.",
    }

"""What the real-text page says beside its figures: KPIs, what to look for and what the paper reports, stating only
what the run measured (plain text, for the page and the figure pack; docs/THEORY.md, "Real text")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import FREEZE_FRACTION, TextView

__all__ = ["captions", "comparison_caption", "kpis"]


def _freeze_text(view: TextView, layer: int) -> str:
    at = view.freeze_step(layer)
    return f"frozen from step {at}" if at is not None else "not frozen"


def kpis(view: TextView) -> list:
    rows = []
    for layer in range(view.config.layers):
        label = f"Entropy, layer {layer + 1}" if view.config.layers > 1 else "Attention entropy"
        rows.append((label, f"{view.entropy[-1, layer]:.3f}",
                     "validation attention entropy (nats); uniform causal attention has "
                     f"{view.entropy_uniform:.3f}", f"from {view.entropy[0, layer]:.3f}"))
    drift = view.drift[-1, 0] if view.drift.size else None
    rows.append(("Drift, layer 1", f"{drift:.3f}" if drift is not None else "–",
                 f"mean total variation between attention snapshots {view.config.drift_every} steps apart",
                 _freeze_text(view, 0) if drift is not None else f"from step {view.config.drift_every}"))
    rows.append(("Validation loss", f"{view.val_loss[-1]:.3f}", "next-token cross-entropy on the validation text",
                 f"from {view.val_loss[0]:.3f}"))
    return rows


def captions(view: TextView) -> dict[str, str]:
    c = view.config
    start, now = view.entropy[0], view.entropy[-1]
    entropy = ", ".join(f"layer {i + 1} {start[i]:.3f} → {now[i]:.3f}" for i in range(c.layers))
    drift = view.drift[:, 0]
    if drift.size:
        peak = int(np.argmax(drift))
        drift_text = (f"This run, layer 1: {drift[0]:.3f} at step {view.drift_steps[0]}, peak {drift[peak]:.3f} at "
                      f"step {view.drift_steps[peak]}, now {drift[-1]:.3f}; {_freeze_text(view, 0)}.")
        if view.freeze_step(0) is None and view.step >= c.steps:
            drift_text += " It did not freeze in this run" + (
                ": on the built-in corpora only SGD at a learning rate near 1 froze (docs/THEORY.md, \"Real "
                "text\"); try that." if c.optimizer == "sgd" and c.lr > 1.5 else ".")
    else:
        drift_text = f"The first drift is measured at step {c.drift_every}."
    return {
        "entropy": f"The paper: the lowest layer's attention turns sparse during training, more so at a larger "
                   f"learning rate. Dashed: uniform causal attention. This run: {entropy}.",
        "drift": f"The paper: the attention then stops changing (it freezes) although the learning rate stays the "
                 f"same. Drift first rises as the attention starts moving; the layer counts as frozen once it stays "
                 f"at or below {FREEZE_FRACTION:.0%} of its peak. {drift_text}",
        "loss": f"Grey: each step's training batch; black: the fixed validation text ({view.tokens_val:,} tokens). "
                f"A validation loss that rises again means the model is memorising the {view.tokens_train:,} "
                "training tokens.",
        "maps": "One validation sequence at the steps shown: the rows are the positions that attend, the columns "
                "the earlier tokens they can see. In the paper's Fig. 7 each row comes to put its weight on a few "
                f"tokens; here the layer-1 entropy went {start[0]:.3f} → {now[0]:.3f}.",
    }


def comparison_caption(summary: pd.DataFrame) -> str:
    """Whether the runs reproduce the ordering of the paper's Fig. 10 (larger learning rate, lower entropy)."""
    if not len(summary):
        return "No run has finished yet."
    first = summary[summary["layer"] == summary["layer"].min()].sort_values("lr")
    means = first["entropy_mean"].to_numpy()
    pairs = ", ".join(f"lr {lr:g}: {h:.3f}" for lr, h in zip(first["lr"], means))
    if means.size < 2:
        verdict = "One learning rate so far."
    elif np.all(np.diff(means) < 0):
        verdict = "Each larger learning rate gave a lower entropy, as in the paper's Fig. 10."
    else:
        verdict = "The entropy does not fall at every larger learning rate in these runs; the paper's Fig. 10 has it "\
                  "falling throughout."
    return f"Layer 1's final entropy, mean over seeds: {pairs}. {verdict}"

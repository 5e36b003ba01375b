"""What the JoMA page says beside each demo's figures: its KPIs, what to look for and what the theory predicts,
stating only what the run measured (plain text, for the page and the figure pack)."""

from __future__ import annotations

import numpy as np

from .hier import HierView
from .invariant import InvariantView
from .lm import LMView
from .reduced import ReducedView

__all__ = ["hier_captions", "hier_kpis", "invariant_captions", "invariant_kpis", "lm_captions", "lm_kpis",
           "reduced_captions", "reduced_kpis"]


def invariant_kpis(view: InvariantView) -> list:
    distinct, common = view.mean_logits
    loss = view.loss[np.isfinite(view.loss)]
    return [
        ("NC now", f"{view.nc[-1]:.4f}", "normalised correlation of z with the invariant's ẑ (1: z is ẑ up to scale)",
         None),
        ("NC lowest", f"{view.nc.min():.4f}", "the lowest NC so far", f"step {int(np.argmin(view.nc))}"),
        ("Mean z, distinct", f"{distinct[-1]:+.3f}", "mean attention logit over the distinct tokens", None),
        ("Mean z, common", f"{common[-1]:+.3f}" if view.config.common else "–",
         "mean attention logit over the common tokens", None),
        ("Attention entropy", f"{view.entropy[-1]:.3f}", "mean over the classes, nats",
         f"from {view.entropy[0]:.3f}"),
        ("Loss", f"{loss[-1]:.3f}" if loss.size else "–", "cross-entropy over the classes", None),
    ]


def invariant_captions(view: InvariantView) -> dict[str, str]:
    c = view.config
    law = {"exp": "z = Σ_k v_k∘v_k / 2T + c holds exactly along gradient flow",
           "softmax": "z ≈ Σ_k (v_k∘v_k − ‖v_k‖² b̄) / 2T + c, with the mean attention b̄ held fixed",
           "linear": "z∘z = Σ_k v_k∘v_k + c holds exactly along gradient flow"}[c.attention]
    steps = "" if c.attention != "exp" or c.lr <= 0.01 else (
        " With exp attention and a learning rate above 0.01 the discrete steps leave the gradient flow as z grows, "
        "and NC falls: try 0.01.")
    ln = " LayerNorm breaks the exact derivation; the prediction uses b̄ ∝ the mean of x∘x." if c.layernorm else ""
    distinct, common = view.mean_logits
    return {
        "nc": f"Theory: {law}, where v_k = U_Cᵀw_k are the MLP's weights on the tokens: attention is a function of "
              f"the MLP. This run: NC is {view.nc[-1]:.4f} now and was never below {view.nc.min():.4f}.{steps}{ln}",
        "logits": "Theory: tokens that tell the classes apart (distinct) gain logit, common ones lose it. This run: "
                  + (f"distinct {distinct[-1]:+.3f} vs common {common[-1]:+.3f}." if c.common else
                     f"distinct {distinct[-1]:+.3f} (no common tokens)."),
        "weights": "Each unit's weights grow on the tokens of its own class (its bump of distinct tokens); the "
                   "invariant turns these squared weights into attention logits.",
        "unit_weights": "The first unit's weights on a few tokens: its class's distinct tokens grow, common tokens "
                        "stay near zero.",
        "distributions": "The data: class k's tokens. Distinct tokens form a bump that moves with k; common tokens "
                         "have random weights unrelated to the class.",
        "entropy": f"Attention concentrates on the distinct tokens: entropy {view.entropy[0]:.3f} → "
                   f"{view.entropy[-1]:.3f} nats in this run.",
    }


def reduced_kpis(view: ReducedView) -> list:
    low, at = view.entropy_min
    reached = sum(t is not None for t in view.t90)
    rising = view.entropy[-1] - low
    return [
        ("Entropy now", f"{view.entropy[-1]:.3f}", "entropy of the implied attention softmax(v²/T), nats",
         f"from {view.entropy[0]:.3f}"),
        ("Lowest so far", f"{low:.3f}", "the sparsest the attention has been", f"step {at}"),
        ("Rebound", f"{rising:+.3f}", "entropy now minus its minimum: > 0 once the attention turns dense again", None),
        ("Limit", f"{view.entropy_limit:.3f}", "where the entropy is headed: H(softmax(μ²/T)); 0 without saturation",
         None),
        ("At 90 % of μ", f"{reached} of {len(view.mu)}", "components that reached 90 % of their saliency", None),
    ]


def reduced_captions(view: ReducedView) -> dict[str, str]:
    low, at = view.entropy_min
    c = view.config
    inside = 0 < at < view.step
    if c.linear:
        entropy = (f"Without saturation nothing stops the leader: the entropy only falls (to {view.entropy[-1]:.3f} "
                   "so far), winner-take-all, the Scan & Snap regime. The dotted line is the saturating run on the same "
                   "μ.")
    else:
        entropy = (f"Theory: sparse first (the salient components grow fastest), then dense again as they saturate, "
                   f"towards {view.entropy_limit:.3f}. This run: "
                   + (f"minimum {low:.3f} at step {at}, {view.entropy[-1]:.3f} now." if inside else
                      f"{view.entropy[-1]:.3f} now, still falling.")
                   + " The dotted line is the same μ without saturation.")
    reached = [(m, t) for m, t in zip(view.mu, view.t90) if t is not None]
    order = all(t1 > t2 for (_, t1), (_, t2) in zip(reached, reached[1:]))
    return {
        "components": "Each component grows towards its saliency μ_l (dashed) at a rate set by the attention it gets; "
                      "the most salient take off first.",
        "entropy": entropy,
        "t90": "Theory: the more salient a token, the sooner its component converges. This run: "
               + (f"{len(reached)} components reached 90 % of μ, "
                  + ("each sooner than every less salient one." if order else "not in order of saliency.")
                  if reached else "none has reached 90 % of μ yet."),
    }


def lm_kpis(view: LMView) -> list:
    kpis = []
    for layer in range(view.config.layers):
        low, at = view.entropy_dip(layer)
        now = view.known(view.entropy[:, layer])
        kpis.append((f"Layer {layer + 1} entropy", f"{now[-1]:.3f}" if now.size else "–",
                     "attention entropy (nats) of the second half of the positions",
                     f"min {low:.3f} at step {at}" if view.step else None))
    loss = view.known(view.loss)
    rank = view.known(view.rank[:, 0])
    kpis.append(("Loss", f"{loss[-1]:.3f}" if loss.size else "–", "next-token cross-entropy", None))
    kpis.append(("MLP stable rank", f"{rank[-1]:.1f}" if rank.size else "–", "layer 1's ‖W₁‖_F² / ‖W₁‖₂²",
                 f"from {rank[0]:.1f}" if rank.size else None))
    return kpis


def lm_captions(view: LMView) -> dict[str, str]:
    parts = []
    for layer in range(view.config.layers):
        low, at = view.entropy_dip(layer)
        now = view.known(view.entropy[:, layer])
        if now.size and 0 < at < view.step:
            parts.append(f"layer {layer + 1}: {now[0]:.3f} → {low:.3f} at step {at} → {now[-1]:.3f}")
        elif now.size:
            parts.append(f"layer {layer + 1}: {now[0]:.3f} → {now[-1]:.3f} (no dip yet)")
    rank = view.known(view.rank[:, 0])
    return {
        "entropy": "Theory: attention first turns sparse (the entropy falls), then dense again (it rises) as the "
                   "salient tokens' weights saturate. This run: " + ("; ".join(parts) or "not started") + ".",
        "loss": "The next-token loss of each step's fresh batch; the best possible is the entropy of the topic "
                "mixture.",
        "rank": "The paper reports a dip and a rebound of this stable rank for pretrained models; in short runs like "
                "this one it only falls" + (f" ({rank[0]:.1f} → {rank[-1]:.1f} here)." if rank.size > 1 else "."),
    }


def hier_kpis(view: HierView) -> list:
    kpis = []
    for level in range(view.correlation.shape[1]):
        kpis.append((f"Level {level} correlation", f"{view.correlation[-1, level]:.3f}",
                     f"mean over level-{level} latents of the best correlation with a block-{level + 1} MLP unit",
                     f"at init {view.correlation[0, level]:.3f}" + (f", chance {view.chance[-1]:.3f}" if level == 0
                                                                     else "")))
    loss = view.loss[np.isfinite(view.loss)]
    kpis.append(("Loss", f"{loss[-1]:.3f}" if loss.size else "–", "classification cross-entropy", None))
    return kpis


def hier_captions(view: HierView) -> dict[str, str]:
    now, start = view.correlation[-1], view.correlation[0]
    return {
        "correlation": "Theory: the lower block's MLP units come to track the level-0 latents, the upper block's the "
                       "classes. Random units already correlate with token sets (dashed: at initialisation; dotted: "
                       "the same metric for decoy latents that the data does not contain, the chance level). This "
                       "run: " + ", ".join(f"level {i} {start[i]:.3f} → {now[i]:.3f}" for i in range(now.size))
                       + f"; level-0 chance {view.chance[0]:.3f} → {view.chance[-1]:.3f}. What counts is the rise "
                       "above the dashed line and the gap to the dotted one.",
        "latents": "Each bar: a latent's best correlation with a single unit of its level's block; hover for the "
                   "unit.",
        "loss": "Classification loss of each step's batch.",
    }

"""How to read each view and KPI, for someone who has not read the paper: one line under the chart and a
paragraph behind it.  The Live Lab shows them, and the figure pack writes them as the figures' captions
(captions.md), so a slide and the page say the same.  The facts are those of docs/THEORY.md (§2, §5, §6,
"Measured events"); the wording is the lab's own.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Explanation", "KPIS", "LOOK_FOR", "VIEWS", "captions_markdown"]


@dataclass(frozen=True)
class Explanation:
    title: str
    short: str  # one line: what the chart shows
    more: str  # a paragraph: how to read it, and the symbols


VIEWS: dict[str, Explanation] = {
    "attention": Explanation(
        "Attention heatmap",
        "Each row is a class (a next token to predict); each cell is how much attention c_n that class's query pays "
        "to one context token. Columns: the common tokens, then each class's distinct tokens, rarest first.",
        "The model reads a sequence of context tokens and a query token, and must predict the next token. The "
        "attention decides how much each context token counts. Common tokens appear in every class, so they say "
        "nothing about the answer; distinct tokens appear in one class only. c_n is the attention of class n "
        "averaged over its sequences: at the start it follows how often each token occurs (P(l|n)), and training "
        "moves it onto a few distinct tokens. Bright = more attention."),
    "logit_trajectories": Explanation(
        "Logit trajectories",
        "One line per context token: its attention logit z_ml (the score before the softmax) over the steps. "
        "Vermillion: common tokens; blue: distinct tokens, darker = more likely.",
        "z_ml is the score the query m gives token l; the attention is a softmax of these scores weighted by how "
        "often each token occurs. The theory says common tokens' scores fall and distinct tokens' scores rise, "
        "the likely ones faster, so the rare distinct tokens fall behind first: the attention scans. Later all "
        "lines flatten: the attention has snapped onto a fixed set of tokens. Grey lines: the SGD theory's t0′ "
        "(end of the fast phase) and t0 (start of the frozen phase), with the two phases shaded; green lines: "
        "the scan peak and the snap measured in this run; purple: a learning-rate change."),
    "attention_history": Explanation(
        "Attention history",
        "One class's attention over its tokens (columns) at every recorded step (rows, top to bottom): the "
        "paper's Fig. 4 view.",
        "Read it from the top: at step 0 the attention follows the token frequencies. Going down, the common "
        "columns darken (they lose attention) and a few distinct columns brighten (they win it). When the "
        "rows stop changing, the attention has snapped."),
    "theory_vs_experiment": Explanation(
        "Growth factor against the theory",
        "The measured growth factor χ of one class's leading distinct token, between the SGD theory's lower and "
        "upper bounds.",
        "χ(t) = exp(2(z(t) − z(0))) measures how far the leading distinct token's logit has risen since the "
        "start; by Theorem 3 its lead over each other distinct token of the class is its starting lead times χ. "
        "The theorem bounds it by exp(2f²(0)·B) ≤ χ ≤ exp(2B), "
        "where B(t) grows fast while scanning and only very slowly after t0: that slowdown is the snap. The "
        "bounds assume plain SGD from zero init with T → ∞; the caption under the charts says where a run "
        "leaves these assumptions."),
    "decoder": Explanation(
        "Decoder",
        "The decoder side: the logit o_n and the probability α_n of the correct next token for each class, and "
        "the training loss.",
        "The decoder turns the attended context into a prediction. It learns much faster than the attention "
        "(η_Y ≫ η_Z in the theory), so α_n climbs towards 1 early and the loss falls; the attention's scanning "
        "is driven by what the decoder has already learned."),
}

KPIS: dict[str, str] = {
    "loss": "Cross-entropy of the next-token prediction on this step's batch (0 = always right).",
    "entropy": "Entropy of each class's attention over its distinct tokens (renormalised), averaged over the "
               "classes, in nats: high = spread over many tokens, low = concentrated on few. It falls while the "
               "attention scans and stops moving once it snaps.",
}

LOOK_FOR = (
    "**What to look for.** In the logit trajectories the common tokens (vermillion) fall and the distinct tokens "
    "(blue) rise, the likely ones first: the attention *scans*, dropping what carries no information about the "
    "next token. Then every line flattens: the attention *snaps* onto a fixed combination of tokens. The green "
    "lines mark when this run did so (scan peak: fastest change; snap: from then on nearly still, same tokens), "
    "the grey ones when the SGD theory says it would (t0′, t0). Larger η_Y (decoder) snaps sooner; a larger η_Z "
    "(attention) ends sparser. The heatmap and the history show the same story as attention weights.")


def captions_markdown() -> str:
    """The figure pack's captions.md: each figure's title, one-line caption and paragraph."""
    parts = ["# Figure captions\n"]
    for name, e in VIEWS.items():
        parts.append(f"## {name} — {e.title}\n\n{e.short}\n\n{e.more}\n")
    return "\n".join(parts)

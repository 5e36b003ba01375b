"""Full-batch gradient descent on the induction-heads model, in three stages or jointly (docs/THEORY.md,
"Induction heads: training").  Staged: stage I trains only the selector c, stage II only the RPE w, stage
III only a; each is plain gradient descent with its own rate.  Joint: all parameters at one rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import Matches, Params, forward

__all__ = ["STAGED", "Stage", "loss_from", "loss_of", "train"]

#: probabilities below this count as 0 in the loss (−log(ŷ_y + ε))
EPSILON = 1e-6


@dataclass(frozen=True)
class Stage:
    """``steps`` steps of gradient descent at rate ``lr`` on the parameter groups ``trains`` (names in Params)."""

    trains: tuple[str, ...]
    lr: float
    steps: int


#: the spec's staged schedule: the selector, then the RPE (its gradient scales with a ≈ 0.01), then a
STAGED = (Stage(("c",), 1.0, 100), Stage(("w",), 3000.0, 100), Stage(("a",), 1.0, 200))


def loss_of(params: Params, m: Matches, variant: str = "log") -> torch.Tensor:
    """Mean −log(ŷ_y + ε) over the sequences ('log'), or −log softmax(ŷ)_y ('cross_entropy', the authors'
    script: ŷ is a probability vector, so its softmax is nearly flat and the signal is weak)."""
    probability, attention, _ = forward(params, m)
    return loss_from(probability, attention, m, variant)


def loss_from(probability: torch.Tensor, attention: torch.Tensor, m: Matches, variant: str = "log") -> torch.Tensor:
    """The loss of a forward pass's outputs (see :func:`loss_of`)."""
    if variant == "log":
        return -torch.log(probability + EPSILON).mean()
    # ŷ_e = Σ_l s_l 1{x_l = e}; log Σ_e exp(ŷ_e) needs ŷ for every token: from the attention and the inputs' ids
    predicted = torch.zeros(attention.shape[0], m.vocab, dtype=attention.dtype).scatter_add(1, m.inputs, attention)
    return (torch.logsumexp(predicted, dim=1) - probability).mean()


def train(params: Params, m: Matches, stages=STAGED, record=None, variant: str = "log") -> None:
    """Train ``params`` in place through ``stages``; ``record(stage_index, step, loss)`` after every step."""
    for index, stage in enumerate(stages):
        groups = [getattr(params, name) for name in stage.trains]
        for step in range(stage.steps):
            loss = loss_of(params, m, variant)
            grads = torch.autograd.grad(loss, groups)
            with torch.no_grad():
                for p, g in zip(groups, grads):
                    p -= stage.lr * g
            if record is not None:
                record(index, step, float(loss.detach()))

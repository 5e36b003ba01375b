"""Full-batch gradient descent on the induction-heads model, in three stages or jointly (docs/THEORY.md,
"Induction heads: training").  Staged: stage I trains only the selector c, stage II only the RPE w, stage
III only a; each is plain gradient descent with its own rate.  Joint: all parameters at one rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import Matches, Params, forward

__all__ = ["STAGED", "Stage", "loss_of", "train"]

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


def loss_of(params: Params, m: Matches) -> torch.Tensor:
    """Mean −log(ŷ_y + ε) over the sequences."""
    probability, _, _ = forward(params, m)
    return -torch.log(probability + EPSILON).mean()


def train(params: Params, m: Matches, stages=STAGED, record=None) -> None:
    """Train ``params`` in place through ``stages``; ``record(stage_index, step, loss)`` after every step."""
    for index, stage in enumerate(stages):
        groups = [getattr(params, name) for name in stage.trains]
        for step in range(stage.steps):
            loss = loss_of(params, m)
            grads = torch.autograd.grad(loss, groups)
            with torch.no_grad():
                for p, g in zip(groups, grads):
                    p -= stage.lr * g
            if record is not None:
                record(index, step, float(loss.detach()))

"""The engine's optimizers (docs/THEORY.md §2): SGD with heavy-ball momentum or Adam, with torch.optim's
semantics but one learning rate per run, so that R stacked runs step as one batched update."""

from __future__ import annotations

import math

import torch

from .config import TrainConfig

__all__ = ["RunwiseOptimizer"]

_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8


class RunwiseOptimizer:
    """Updates one parameter [R, …] in place; ``lr`` [R] holds each run's rate at this step."""

    def __init__(self, train: TrainConfig):
        self.kind, self.momentum = train.optimizer, train.momentum
        self.state: dict[str, torch.Tensor] = {}
        self.steps = 0

    def step(self, param: torch.Tensor, grad: torch.Tensor, lr: torch.Tensor) -> None:
        """One update with the gradient ``grad``."""
        lr = lr.view(-1, *([1] * (param.dim() - 1)))
        state = self.state
        self.steps += 1
        if self.kind == "adam":
            b1, b2 = _ADAM_BETAS
            if not state:
                state["m"], state["v"] = torch.zeros_like(param), torch.zeros_like(param)
            m, v = state["m"], state["v"]
            m.mul_(b1).add_(grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**self.steps)).add_(_ADAM_EPS)
            param.addcmul_(m / denom, lr, value=-1 / (1 - b1**self.steps))
        elif self.momentum > 0:
            if not state:
                state["buf"] = grad.clone()
            else:
                state["buf"].mul_(self.momentum).add_(grad)
            param.addcmul_(state["buf"], lr, value=-1)
        else:
            param.addcmul_(grad, lr, value=-1)

    def step_outer(self, param: torch.Tensor, left: torch.Tensor, right: torch.Tensor, lr: torch.Tensor) -> None:
        """One update with the gradient ``left @ right`` (batched), fused into the momentum buffer or the
        parameter where the optimizer allows it (no gradient tensor is formed for SGD)."""
        if self.kind == "adam":
            return self.step(param, torch.bmm(left, right), lr)
        lr = lr.view(-1, 1, 1)
        self.steps += 1
        if self.momentum > 0:
            if not self.state:
                self.state["buf"] = torch.bmm(left, right)
            else:
                self.state["buf"].baddbmm_(left, right, beta=self.momentum)
            param.addcmul_(self.state["buf"], lr, value=-1)
        else:
            param.baddbmm_(left, right * -lr)

"""A small post-LayerNorm transformer for JoMA's demos 3 and 4 that shows what it does: every block returns its
attention weights and its MLP's hidden activations alongside its output (docs/THEORY.md, "JoMA: a small
transformer").  Single-head causal softmax attention with bias-free Q/K/V and scale 1/√d; residual, LayerNorm;
ReLU MLP of width 4d; residual, LayerNorm."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Block", "TinyTransformer", "attention_entropy", "descend", "stable_rank"]


class Block(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(dim, dim, bias=False) for _ in range(3))
        self.out = nn.Linear(dim, dim, bias=False)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.up, self.down = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(output [B, L, d], attention [B, L, L], MLP hidden activations [B, L, 4d])."""
        scores = self.q(x) @ self.k(x).transpose(1, 2) / math.sqrt(x.shape[-1])
        attention = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        x = self.norm1(x + self.out(attention @ self.v(x)))
        hidden = torch.relu(self.up(x))
        return self.norm2(x + self.down(hidden)), attention, hidden


class TinyTransformer(nn.Module):
    """Token embeddings (and learned positions unless ``positions`` is 0), ``layers`` blocks, a linear readout."""

    def __init__(self, vocab: int, outputs: int, dim: int, layers: int, positions: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(positions, dim) if positions else None
        self.blocks = nn.ModuleList(Block(dim) for _ in range(layers))
        self.readout = nn.Linear(dim, outputs)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """(logits [B, L, outputs], attention per block, MLP hidden activations per block)."""
        length = tokens.shape[1]
        x = self.embed(tokens)
        if self.position is not None:
            x = x + self.position(torch.arange(length))
        mask = torch.ones(length, length, dtype=torch.bool).tril()
        attentions, hiddens = [], []
        for block in self.blocks:
            x, attention, hidden = block(x, mask)
            attentions.append(attention)
            hiddens.append(hidden)
        return self.readout(x), attentions, hiddens


def attention_entropy(attention: torch.Tensor, from_row: int) -> float:
    """Mean entropy (nats) of the attention rows ``from_row`` on (later positions see more tokens)."""
    rows = attention[:, from_row:]
    return float(-(rows * torch.log(rows.clamp(min=1e-12))).sum(dim=-1).mean())


def stable_rank(weight: torch.Tensor) -> float:
    """‖W‖_F² / ‖W‖_2²: how many directions the matrix really uses."""
    return float(weight.pow(2).sum() / torch.linalg.matrix_norm(weight, ord=2) ** 2)


def descend(engine, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on ``loss`` for a FixedConfigEngine with a per-step ``_loss`` record: the loss of the
    parameters after ``step_count`` steps is recorded, a non-finite one marks the run diverged, the count moves on."""
    t = engine.step_count
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    engine._loss[t] = float(loss.detach())
    if not math.isfinite(engine._loss[t]):
        engine.diverged(t + 1, "the loss became NaN or infinite: lower the learning rate")
    engine.step_count = t + 1


"""The standard transformer of the paper's real-text runs at CPU size (docs/THEORY.md, "Real text"): token
embeddings scaled by √d plus sinusoidal positions, post-LayerNorm encoder layers with a causal mask and one
attention head, a linear decoder; uniform ±0.1 initialisation of the embeddings and the decoder.  Each layer also
returns its attention weights, which the study measures."""

from __future__ import annotations

import math
import threading

import torch
from torch import nn

__all__ = ["TextTransformer", "feed_forward_parameters"]

_INIT_LOCK = threading.Lock()


class Dropout(nn.Module):
    """Inverted dropout whose masks come from the run's own generator, so a run draws the same masks whatever else
    the process trains at the same time (``nn.Dropout`` draws from torch's process-wide generator)."""

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).uniform_(generator=self.generator) >= self.p
        return x * keep.to(x.dtype).mul_(1 / (1 - self.p))


class EncoderLayer(nn.Module):
    """Post-LN: x ← LN(x + drop(attention(x))), x ← LN(x + drop(W₂ drop(relu(W₁ x)))); one head."""

    def __init__(self, dim: int, dropout: Dropout):
        super().__init__()
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.ff1, self.ff2 = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = (q @ k.transpose(1, 2)) / math.sqrt(x.shape[-1])
        attention = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        x = self.norm1(x + self.drop(self.out(self.drop(attention) @ v)))
        x = self.norm2(x + self.drop(self.ff2(self.drop(torch.relu(self.ff1(x))))))
        return x, attention


class TextTransformer(nn.Module):
    """Initialised from ``seed`` under a lock (torch's initialisers draw from the process-wide generator, which
    another run's build could reseed at the same moment); dropout draws from its own generator."""

    def __init__(self, vocab: int, dim: int, layers: int, dropout: float, context: int, seed: int):
        super().__init__()
        self.drop = Dropout(dropout, torch.Generator().manual_seed(seed + 1))
        with _INIT_LOCK:
            torch.manual_seed(seed)
            self.embed = nn.Embedding(vocab, dim)
            self.layers = nn.ModuleList(EncoderLayer(dim, self.drop) for _ in range(layers))
            self.decoder = nn.Linear(dim, vocab)
            nn.init.uniform_(self.embed.weight, -0.1, 0.1)
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)
        position = torch.arange(context)[:, None]
        frequency = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        table = torch.zeros(context, dim)
        table[:, 0::2] = torch.sin(position * frequency)
        table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
        self.register_buffer("positions", table)
        self.register_buffer("mask", torch.ones(context, context, dtype=torch.bool).tril())

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(logits [B, L, vocab], each layer's attention [B, L, L]) for token ids [B, L]."""
        length = tokens.shape[1]
        x = self.drop(self.embed(tokens) * math.sqrt(self.embed.embedding_dim) + self.positions[:length])
        mask = self.mask[:length, :length]
        attentions = []
        for layer in self.layers:
            x, attention = layer(x, mask)
            attentions.append(attention)
        return self.decoder(x), attentions


def feed_forward_parameters(model: TextTransformer) -> list[nn.Parameter]:
    return [p for layer in model.layers for p in (*layer.ff1.parameters(), *layer.ff2.parameters())]

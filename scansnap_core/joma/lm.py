"""Demo 3: a small transformer learning a synthetic topic language model, where each layer's attention entropy first
falls (attention turns sparse) and then rises again (dense), as JoMA predicts (docs/THEORY.md, "JoMA: a small
transformer").  WikiText is not available offline; the authors' recorded WikiText2 numbers are quoted as a static
reference (:data:`WIKITEXT_REFERENCE`).

Each sequence picks a topic k; its tokens are i.i.d. from P_k: topic tokens with weights exp(−(i − c_k)²/8) around
c_k = k·(topic tokens)/(topics), common tokens with U(0, 0.5) weights shared by all topics.  Next-token loss on
every position; Adam.  Fresh batches every step, drawn with torch on token indices (no one-hot tensors).
"""

from __future__ import annotations

import numpy as np
import torch

from ..lab.trainable import FixedConfigEngine, Plan, StepView
from .config import LMConfig
from .transformer import TinyTransformer, attention_entropy, descend, stable_rank

__all__ = ["LMEngine", "LMView", "WIKITEXT_REFERENCE", "plan_lm", "topic_distributions"]

#: the authors' recorded WikiText2 runs (emsize 200, d_hid 200, 1 head, dropout 0.2, Adam, bptt 35, batch 20, 3
#: seeds), as the spec quotes them: (run, layer, attention entropy at the start, at its lowest (minibatch), at the end)
WIKITEXT_REFERENCE = (
    ("1 layer, lr 1e−4", "the layer", "2.51", "1.55 (2k)", "2.21 (58k)"),
    ("1 layer, lr 1e−2", "the layer", "2.51", "0 (collapses)", "0; validation loss 6.57 vs 5.36 at 1e−4"),
    ("5 layers, lr 1e−4", "bottom layer", "2.51", "1.29", "1.43"),
    ("5 layers, lr 1e−4", "top layer", "2.60", "2.16 (6k)", "2.43"),
)


def topic_distributions(config: LMConfig) -> np.ndarray:
    """P [topics, vocab]: each topic's token distribution (topic tokens first, then the common ones)."""
    rng = np.random.default_rng(config.seed)
    centres = np.arange(config.topics)[:, None] * config.topic_tokens / config.topics
    bumps = np.exp(-(np.arange(config.topic_tokens)[None, :] - centres) ** 2 / 8)
    common = np.broadcast_to(rng.uniform(0, 0.5, config.common_tokens), (config.topics, config.common_tokens))
    weights = np.hstack([bumps, common])
    return weights / weights.sum(axis=1, keepdims=True)


class LMView(StepView):
    """The run at ``step``: loss, per-layer attention entropy (rows of the second half of the positions) and
    per-layer stable rank of the MLP's input weight, one row per step (the last row's loss is measured by the next
    step, or at the finish)."""

    def __init__(self, config: LMConfig, loss: np.ndarray, entropy: np.ndarray, rank: np.ndarray):
        self.config, self.loss, self.entropy, self.rank = config, loss, entropy, rank
        self.step = loss.shape[0] - 1

    def upto(self, step: int) -> "LMView":
        return LMView(self.config, self.loss[: step + 1], self.entropy[: step + 1], self.rank[: step + 1])

    def known(self, series: np.ndarray) -> np.ndarray:
        """The rows of a per-step series that were measured."""
        return series[np.isfinite(series if series.ndim == 1 else series[:, 0])]

    def entropy_dip(self, layer: int) -> tuple[float, int]:
        """(the layer's lowest entropy so far, its step)."""
        series = self.entropy[:, layer]
        at = int(np.nanargmin(series)) if np.isfinite(series).any() else 0
        return float(series[at]), at


class LMEngine(FixedConfigEngine):
    """Adam on the topic language model, one batch per :meth:`step`."""

    def __init__(self, config: LMConfig):
        super().__init__(config, plan_lm(config))
        c = config
        torch.manual_seed(c.seed)
        self.vocab = c.topic_tokens + c.common_tokens
        self.model = TinyTransformer(self.vocab, self.vocab, c.dim, c.layers, positions=c.length)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
        self.topics = torch.tensor(topic_distributions(c), dtype=torch.float32)
        self.generator = torch.Generator().manual_seed(c.seed)
        self._loss = np.full(c.steps + 1, np.nan)
        self._entropy = np.full((c.steps + 1, c.layers), np.nan)
        self._rank = np.full((c.steps + 1, c.layers), np.nan)

    def batch(self) -> torch.Tensor:
        """[batch, length + 1] token ids: a topic per sequence, its tokens i.i.d."""
        c = self.config
        topic = torch.randint(c.topics, (c.batch,), generator=self.generator)
        return torch.multinomial(self.topics[topic], c.length + 1, replacement=True, generator=self.generator)

    def _forward(self) -> torch.Tensor:
        """The loss of a fresh batch; records the attention entropy and the stable ranks of the current weights."""
        tokens = self.batch()
        logits, attentions, _ = self.model(tokens[:, :-1])
        row = self.step_count
        with torch.no_grad():
            for layer, (attention, block) in enumerate(zip(attentions, self.model.blocks)):
                self._entropy[row, layer] = attention_entropy(attention, self.config.length // 2)
                self._rank[row, layer] = stable_rank(block.up.weight)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, self.vocab), tokens[:, 1:].reshape(-1))

    def step(self) -> None:
        descend(self, self.optimizer, self._forward())

    def finish(self) -> None:
        with torch.no_grad():
            self._loss[self.step_count] = float(self._forward())

    def view(self, step: int | None = None) -> LMView:
        step = self.step_count if step is None else step
        return LMView(self.config, self._loss[: step + 1].copy(), self._entropy[: step + 1].copy(),
                      self._rank[: step + 1].copy())


def plan_lm(config: LMConfig) -> Plan:
    c = config
    parameters = (c.topic_tokens + c.common_tokens) * c.dim * 2 + c.length * c.dim + c.layers * 12 * c.dim ** 2
    activations = c.batch * c.length * (c.layers * (c.length + 8 * c.dim) + (c.topic_tokens + c.common_tokens))
    return Plan(memory_bytes=32 * 2**20 + 4 * (4 * parameters + 3 * activations), total_steps=c.steps)

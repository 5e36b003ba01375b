"""Training the real-text transformer and measuring its attention (docs/THEORY.md, "Real text").

Each step draws ``batch`` random windows of ``context + 1`` training tokens (one gather on token indices) and takes
one optimizer step on the next-token loss, clipped.  Every :data:`~.config.EVAL_EVERY` steps (and at the end) the
model is measured without dropout on fixed validation windows: the validation loss, each layer's attention entropy
−Σ a log(a + 10⁻⁸) averaged over rows and windows, and the drift, the mean total-variation distance between the
attention now and ``drift_every`` steps before.  The first window's attention maps are kept (at most
:data:`MAX_MAPS` times) for the Fig. 7-style snapshots.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..lab.trainable import FixedConfigEngine, Plan, StepView, run_plan
from .config import EVAL_EVERY, TextConfig
from .corpus import corpus
from .model import TextTransformer, feed_forward_parameters

__all__ = ["FREEZE_FRACTION", "TextEngine", "TextView", "map_choices", "plan_text", "uniform_entropy"]

EVAL_WINDOWS = 32  # fixed validation windows the attention is measured on
MAX_MAPS = 101  # attention maps of the first window kept per run (evenly spaced evaluations)
FEED_FORWARD_LR_SCALE = 2.0  # SGD: the feed-forward weights learn at twice the rate (the paper's runs: 5 and 10)
#: a layer has frozen once its drift, after its peak, stays at or below this fraction of the peak
FREEZE_FRACTION = 0.6
ENTROPY_EPS = 1e-8


def uniform_entropy(context: int) -> float:
    """Mean entropy of uniform causal attention over ``context`` rows: mean(ln i, i = 1…context)."""
    return float(np.mean(np.log(np.arange(1, context + 1))))


def _every_map(config: TextConfig) -> int:
    evaluations = config.steps // EVAL_EVERY + 1
    return EVAL_EVERY * max(1, math.ceil(evaluations / (MAX_MAPS - 1)))


def map_choices(config: TextConfig) -> list[int]:
    """The steps whose attention maps a run keeps."""
    return sorted({*range(0, config.steps + 1, _every_map(config)), config.steps})


class TextView(StepView):
    """The run at ``step``: training loss per step; per evaluation the validation loss and each layer's entropy;
    the drift per layer from ``drift_every`` on; the first validation window's attention maps and its words."""

    def __init__(self, config, loss, eval_steps, val_loss, entropy, drift_steps, drift, map_steps, maps, words,
                 facts):
        self.config, self.loss, self.eval_steps = config, loss, eval_steps
        self.val_loss, self.entropy = val_loss, entropy
        self.drift_steps, self.drift, self.map_steps, self.maps, self.words = drift_steps, drift, map_steps, maps, words
        self.facts = facts  # what the run trains on and with (see TextEngine.facts)
        self.tokens_train, self.tokens_val = facts["training tokens"], facts["validation tokens"]
        self.windows = facts["validation sequences measured"]
        self.step = loss.shape[0] - 1

    @property
    def entropy_uniform(self) -> float:
        return uniform_entropy(self.config.context)

    def upto(self, step: int) -> "TextView":
        e, d, m = self.eval_steps <= step, self.drift_steps <= step, self.map_steps <= step
        return TextView(self.config, self.loss[: step + 1], self.eval_steps[e], self.val_loss[e], self.entropy[e],
                        self.drift_steps[d], self.drift[d], self.map_steps[m], self.maps[m], self.words, self.facts)

    def freeze_step(self, layer: int) -> int | None:
        """The first drift step after the layer's peak drift from which its drift stays at or below FREEZE_FRACTION
        of that peak (so far); None while it does not."""
        series = self.drift[:, layer]
        if series.size < 2:
            return None
        peak = int(np.argmax(series))
        calm = series[peak + 1:] <= FREEZE_FRACTION * series[peak]
        if not calm.size or not calm[-1]:
            return None
        restless = np.flatnonzero(~calm)
        return int(self.drift_steps[peak + 1 + (restless[-1] + 1 if restless.size else 0)])

    def map_at(self, step: int) -> tuple[int, np.ndarray]:
        """(the kept map step nearest to ``step``, its maps [layers, context, context])."""
        i = int(np.argmin(np.abs(self.map_steps - step)))
        return int(self.map_steps[i]), self.maps[i]


class TextEngine(FixedConfigEngine):
    """SGD or Adam on next-token prediction, one batch of random training windows per :meth:`step`."""

    def __init__(self, config: TextConfig):
        super().__init__(config, plan_text(config))
        c = config
        text = corpus(c.corpus)
        train_ids, val_ids, vocabulary = text.encode(c.vocab)
        self.train_ids = torch.from_numpy(train_ids)
        windows = min(EVAL_WINDOWS, val_ids.size // (c.context + 1))
        starts = np.linspace(0, val_ids.size - (c.context + 1), windows).astype(np.int64)
        self.val_windows = torch.from_numpy(val_ids[starts[:, None] + np.arange(c.context + 1)])
        self.words = vocabulary[val_ids[starts[0]: starts[0] + c.context]]
        self.generator = torch.Generator().manual_seed(c.seed)  # the training windows
        self.offsets = torch.arange(c.context + 1)
        self.model = TextTransformer(vocabulary.size, c.d_model, c.layers, c.dropout, c.context, c.seed)
        feed_forward = feed_forward_parameters(self.model)
        ids = {id(p) for p in feed_forward}
        rest = [p for p in self.model.parameters() if id(p) not in ids]
        if c.optimizer == "sgd":
            self.optimizer = torch.optim.SGD([{"params": rest}, {"params": feed_forward,
                                                                  "lr": c.lr * FEED_FORWARD_LR_SCALE}], lr=c.lr)
        else:
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
        self._loss = np.full(c.steps + 1, np.nan)
        self._evals: list[tuple[int, float, np.ndarray]] = []  # step, validation loss, entropy per layer
        self._drifts: list[tuple[int, np.ndarray]] = []  # step, drift per layer
        self._maps: list[tuple[int, np.ndarray]] = []  # step, first window's maps [layers, context, context]
        self._snapshots: dict[int, torch.Tensor] = {}  # step -> attention [layers, windows, context, context]
        self._map_every = _every_map(c)
        self.files = list(text.files)  # an upload's file names
        self.facts = {"training tokens": text.tokens_train, "validation tokens": text.tokens_val,
                      "vocabulary": int(vocabulary.size), "unknown validation tokens": float((val_ids == 0).mean()),
                      "validation sequences measured": len(self.val_windows),
                      "parameters": sum(p.numel() for p in self.model.parameters())}
        self._evaluate(0)

    def _loss_of(self, windows: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        logits, attentions = self.model(windows[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), windows[:, 1:].reshape(-1))
        return loss, attentions

    def _training_batch(self) -> torch.Tensor:
        """[batch, context + 1] token ids: windows starting anywhere in the training text."""
        c = self.config
        starts = torch.randint(self.train_ids.numel() - c.context, (c.batch,), generator=self.generator)
        return self.train_ids[starts[:, None] + self.offsets]

    def step(self) -> None:
        c, t = self.config, self.step_count
        self.model.train()
        loss, _ = self._loss_of(self._training_batch())
        self.optimizer.zero_grad()
        loss.backward()
        if c.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
        self.optimizer.step()
        self._loss[t] = float(loss.detach())
        if not math.isfinite(self._loss[t]):
            self.diverged(t + 1, "the loss became NaN or infinite: lower the learning rate")
        if (t + 1) % EVAL_EVERY == 0 or t + 1 == c.steps:
            self._evaluate(t + 1)
        self.step_count = t + 1  # last: a view of step t + 1 finds its measurements complete

    def _evaluate(self, step: int) -> None:
        c = self.config
        self.model.eval()
        with torch.no_grad():
            loss, attentions = self._loss_of(self.val_windows)
            attention = torch.stack(attentions)  # [layers, windows, context, context]
        entropy = -(attention * torch.log(attention + ENTROPY_EPS)).sum(-1).mean(dim=(1, 2)).numpy()
        before = self._snapshots.get(step - c.drift_every)
        if before is not None:
            self._drifts.append((step, 0.5 * (attention - before).abs().sum(-1).mean(dim=(1, 2)).numpy()))
        if step % c.drift_every == 0:
            self._snapshots = {step: attention}  # the only one a later drift needs
        if step % self._map_every == 0 or step == c.steps:
            self._maps.append((step, attention[:, 0].numpy().copy()))
        self._evals.append((step, float(loss), entropy))

    def finish(self) -> None:
        """The last row's training loss (a fresh batch, no update) and the last evaluation, if not taken yet."""
        self.model.train()
        with torch.no_grad():
            self._loss[self.step_count] = float(self._loss_of(self._training_batch())[0])
        if not self._evals or self._evals[-1][0] != self.step_count:
            self._evaluate(self.step_count)

    def view(self, step: int | None = None) -> TextView:
        step = self.step_count if step is None else step
        evals = [e for e in list(self._evals) if e[0] <= step]
        drifts = [d for d in list(self._drifts) if d[0] <= step]
        maps = [m for m in list(self._maps) if m[0] <= step]
        layers, context = self.config.layers, self.config.context
        return TextView(self.config, self._loss[: step + 1].copy(), np.array([e[0] for e in evals]),
                        np.array([e[1] for e in evals]), np.array([e[2] for e in evals]).reshape(-1, layers),
                        np.array([d[0] for d in drifts], dtype=np.int64),
                        np.array([d[1] for d in drifts]).reshape(-1, layers),
                        np.array([m[0] for m in maps]), np.array([m[1] for m in maps]).reshape(-1, layers, context,
                                                                                              context),
                        self.words, {**self.facts, "files": self.files})


def plan_text(config: TextConfig) -> Plan:
    """Estimated peak memory: torch's own buffers, the parameters with gradients and optimizer state, the logits
    (training: with their gradient and softmax; evaluation: the validation windows), each layer's activations, the
    drift snapshot and the kept maps; the corpus itself is shared and not counted.  Compared with the peak RSS growth
    of a fresh process in BENCHMARKS.md ("Real text")."""
    c = config
    parameters = 2 * c.vocab * c.d_model + c.layers * 6 * c.d_model ** 2
    logits = c.vocab * max(3 * c.batch * c.context, 2 * EVAL_WINDOWS * c.context)
    layers = 3 * max(c.batch, EVAL_WINDOWS) * c.context * c.layers * (2 * c.context + 12 * c.d_model)
    snapshots = 2 * c.layers * EVAL_WINDOWS * c.context ** 2
    maps = MAX_MAPS * c.layers * c.context ** 2
    return run_plan(80 * 2**20 + 4 * (4 * parameters + logits + layers + snapshots + maps), c.steps, "vocab",
                    c.vocab, "a smaller vocabulary, batch, context or width")

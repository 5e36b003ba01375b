"""Demo 4: hierarchical latent data.  Classes are made of level-0 latents, which are made of observable tokens; a
two-block transformer classifies a sample from its tokens, and each block's MLP units come to track the latents of
one level (docs/THEORY.md, "JoMA: hierarchical latents").

Level-0 latents are distinct random subsets of the observable tokens; each class (level 1) is a distinct random
subset of level-0 latents.  A sample draws a class, takes the union of its latents' tokens, and lists them sorted
after left padding; the last position predicts the class.  The metric, per level: for every latent of that level
that is neither always nor never active in a fixed evaluation batch, the best Pearson correlation between its
indicator and one MLP unit of the matching block (activations max-pooled over positions), averaged over those
latents.  Random units already score well on that metric, so level 0 is also scored against decoys: the level-0
latents of unrelated random hierarchies of the same shape, read off the same samples' classes (indicators as
frequent as the real latents, which the data does not contain).
"""

from __future__ import annotations

import numpy as np
import torch

from ..lab.trainable import FixedConfigEngine, Plan, StepView
from .config import HierConfig
from .transformer import TinyTransformer, descend

__all__ = ["HierEngine", "HierView", "Hierarchy", "best_correlations", "plan_hier"]

#: the correlation metric is measured every this many steps, on this many fixed samples
EVAL_EVERY = 20
EVAL_SAMPLES = 512
#: unrelated hierarchies whose level-0 latents give the chance level of the level-0 metric
DECOYS = 5


class Hierarchy:
    """The random hierarchy of a configuration and a sampler for it."""

    def __init__(self, config: HierConfig, seed=None):
        rng = np.random.default_rng(config.seed if seed is None else seed)
        self.config, self.pad = config, config.observable - 1
        self.tokens_of = _distinct_subsets(rng, config.observable - 1, config.size0, config.level0)  # [level0, size0]
        self.latents_of = _distinct_subsets(rng, config.level0, config.size1, config.level1)  # [classes, size1]
        self.level0 = np.zeros((config.level0, config.observable - 1), dtype=bool)
        np.put_along_axis(self.level0, self.tokens_of, True, axis=1)
        self.level1 = np.zeros((config.level1, config.level0), dtype=bool)
        np.put_along_axis(self.level1, self.latents_of, True, axis=1)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tokens [n, length], classes [n], active level-0 latents [n, level0])."""
        c = self.config
        classes = rng.integers(0, c.level1, n)
        latents = self.level1[classes]
        active = (latents.astype(np.int64) @ self.level0.astype(np.int64)) > 0  # [n, observable − 1]
        order = np.sort(np.where(active, np.arange(c.observable - 1)[None, :], c.observable), axis=1)
        count = active.sum(axis=1)
        index = np.arange(c.length)[None, :] - (c.length - count)[:, None]  # left padding
        tokens = np.where(index >= 0, np.take_along_axis(order, np.clip(index, 0, None), axis=1), self.pad)
        return tokens, classes, latents


def _distinct_subsets(rng: np.random.Generator, universe: int, size: int, count: int) -> np.ndarray:
    """``count`` distinct random ``size``-subsets of range(universe), sorted rows (the config checks that enough
    exist; the draws stop after a bounded number of tries)."""
    chosen: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    for _ in range(1000 * count):
        subset = tuple(sorted(rng.choice(universe, size, replace=False).tolist()))
        if subset not in seen:
            seen.add(subset)
            chosen.append(subset)
            if len(chosen) == count:
                return np.array(chosen)
    raise RuntimeError(f"could not draw {count} distinct subsets of size {size} from {universe}")


def best_correlations(indicators: np.ndarray, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each indicator column that varies: (the best Pearson correlation with any activation column, that
    column's index); NaN where an indicator is constant.  Vectorised: one matrix product."""
    def standardised(a: np.ndarray) -> np.ndarray:
        centred = a - a.mean(axis=0)
        std = centred.std(axis=0)
        return np.where(std > 0, centred / np.where(std > 0, std, 1.0), 0.0)

    varies = indicators.std(axis=0) > 0
    correlation = standardised(indicators.astype(float)).T @ standardised(activations) / indicators.shape[0]
    best, unit = correlation.max(axis=1), correlation.argmax(axis=1)
    return np.where(varies, best, np.nan), unit


class HierView(StepView):
    """The run at ``step``: loss per step, and per evaluation the mean best correlation of each level and the level-0
    chance level (decoy latents); the latest evaluation's best correlation and unit per latent."""

    def __init__(self, config, loss, eval_steps, correlation, chance, per_latent, indicators=None, activations=None):
        self.config, self.loss, self.eval_steps, self.correlation = config, loss, eval_steps, correlation
        self.chance = chance
        self.per_latent = per_latent  # [(best [latents], unit [latents]) per level] at the latest evaluation
        # per level, on the evaluation samples: the latents' indicators and the block's max-pooled MLP activations
        self.indicators, self.activations = indicators, activations
        self.step = loss.shape[0] - 1

    def latent_unit(self, level: int, latent: int) -> tuple[int, float, np.ndarray, np.ndarray]:
        """(the latent's best-matching unit, their correlation, that unit's activation on the samples where the
        latent is active, and where it is not) at the latest evaluation."""
        best, unit = self.per_latent[level]
        u = int(unit[latent])
        active = self.indicators[level][:, latent]
        values = self.activations[level][:, u]
        return u, float(best[latent]), values[active], values[~active]

    def upto(self, step: int) -> "HierView":
        keep = self.eval_steps <= step
        return HierView(self.config, self.loss[: step + 1], self.eval_steps[keep], self.correlation[keep],
                        self.chance[keep], self.per_latent, self.indicators, self.activations)


class HierEngine(FixedConfigEngine):
    """Adam, or SGD (momentum 0.9, weight decay 5e−3), on the classifier, one batch per :meth:`step`."""

    def __init__(self, config: HierConfig):
        super().__init__(config, plan_hier(config))
        c = config
        torch.manual_seed(c.seed)
        self.hierarchy = Hierarchy(c)
        self.rng = np.random.default_rng(c.seed + 1)
        tokens, classes, latents = self.hierarchy.sample(np.random.default_rng(c.seed + 2), EVAL_SAMPLES)
        self.eval_tokens = torch.from_numpy(tokens)
        self.eval_levels = (latents, np.eye(c.level1, dtype=bool)[classes])  # level 0, level 1 indicators
        self.decoys = np.hstack([Hierarchy(c, seed=[c.seed, 1, k]).level1[classes] for k in range(DECOYS)])
        self.model = TinyTransformer(c.observable, c.level1, c.dim, layers=2, positions=0)
        parameters = self.model.parameters()
        self.optimizer = (torch.optim.Adam(parameters, lr=c.lr) if c.optimizer == "adam" else
                          torch.optim.SGD(parameters, lr=c.lr, momentum=0.9, weight_decay=5e-3))
        self._loss = np.full(c.steps + 1, np.nan)
        self._eval: list[tuple] = []  # step, per-level mean, level-0 chance, per latent, activations
        self._evaluate(0)

    def _loss_of(self, tokens: np.ndarray, classes: np.ndarray) -> torch.Tensor:
        logits, _, _ = self.model(torch.from_numpy(tokens))
        return torch.nn.functional.cross_entropy(logits[:, -1], torch.from_numpy(classes))

    def step(self) -> None:
        tokens, classes, _ = self.hierarchy.sample(self.rng, self.config.batch)
        descend(self, self.optimizer, self._loss_of(tokens, classes))
        if self.step_count % EVAL_EVERY == 0 or self.step_count == self.config.steps:
            self._evaluate(self.step_count)

    def _evaluate(self, step: int) -> None:
        with torch.no_grad():
            _, _, hiddens = self.model(self.eval_tokens)
        pooled = [hidden.amax(dim=1).numpy() for hidden in hiddens]
        per_level = [best_correlations(indicators, h) for indicators, h in zip(self.eval_levels, pooled)]
        chance = np.nanmean(best_correlations(self.decoys, pooled[0])[0])
        self._eval.append((step, np.array([np.nanmean(best) for best, _ in per_level]), chance, per_level, pooled))

    def finish(self) -> None:
        tokens, classes, _ = self.hierarchy.sample(self.rng, self.config.batch)
        with torch.no_grad():
            self._loss[self.step_count] = float(self._loss_of(tokens, classes))

    def view(self, step: int | None = None) -> HierView:
        step = self.step_count if step is None else step
        evals = [e for e in list(self._eval) if e[0] <= step]
        return HierView(self.config, self._loss[: step + 1].copy(), np.array([e[0] for e in evals]),
                        np.array([e[1] for e in evals]), np.array([e[2] for e in evals]), evals[-1][3],
                        self.eval_levels, evals[-1][4])


def plan_hier(config: HierConfig) -> Plan:
    c = config
    activations = max(c.batch, EVAL_SAMPLES) * c.length * (2 * (c.length + 8 * c.dim))
    parameters = c.observable * c.dim + 2 * 12 * c.dim ** 2
    return Plan(memory_bytes=32 * 2**20 + 4 * (4 * parameters + 3 * activations), total_steps=c.steps)

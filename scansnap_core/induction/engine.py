"""One induction-heads run, step by step, for the background runner (the
:class:`~scansnap_core.lab.trainable.Trainable` protocol) and the CLI: its data, the prior's χ² mutual
information, the training schedule, and a record of every step that its figures read through
:meth:`InductionEngine.view` (docs/THEORY.md, "Induction heads").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..lab.limits import LIMITS
from ..lab.runner import Runner
from ..lab.trainable import FixedConfigEngine, Plan, StepView, run_plan
from .config import InductionConfig
from .data import sample_sequences
from .induction_head import copied_distances, history_matches
from .model import Matches, Params, forward, matches
from .mutual_info import candidate_sets, chi2_mutual_information
from .reference import bayes_loss, count_loss, unigram_loss
from .training import loss_from

__all__ = ["InductionEngine", "InductionView", "PriorTheory", "References", "live_runner", "plan_run", "prior_theory",
           "selection_reached", "stage_stops"]

#: validation loss and matching mass are measured every this many steps (and at stage ends)
EVAL_EVERY = 10
#: t_I: the first step at which the theory's set holds this much of the selector
SELECTED = 0.9
#: t_II: the first step at which every selected head puts this much of its RPE softmax on one distance
COPYING = 0.95
#: kernels drawn from the prior for the χ² mutual information
KERNELS = 200


def set_text(members) -> str:
    """'{1,2}' for a set of heads or distances ('{}' for the empty set)."""
    return "{" + ",".join(str(m) for m in members) + "}"


@dataclass(frozen=True)
class PriorTheory:
    """What the theory says from the prior alone: the modified and the ordinary χ² mutual information of every
    candidate set of distances (|S| <= D, from 1..H), and the set the selector should pick (argmax Ĩ)."""

    sets: tuple[tuple[int, ...], ...]
    mi_modified: dict[tuple[int, ...], float]
    mi_plain: dict[tuple[int, ...], float]

    @property
    def best(self) -> tuple[int, ...]:
        return max(self.sets, key=self.mi_modified.__getitem__)


@functools.lru_cache(maxsize=64)
def prior_theory(vocab: int, parents: tuple[int, ...], alpha: float, mixture: float | None, heads: int, degree: int,
                 seed: int) -> PriorTheory:
    """The χ² mutual information of the prior (Monte Carlo over kernels; cached: Reset does not redo it)."""
    sets = tuple(candidate_sets(heads, degree))
    modified, plain = chi2_mutual_information(np.random.default_rng(seed), vocab, parents, alpha, sets,
                                              kernels=KERNELS, mixture=mixture)
    return PriorTheory(sets, modified, plain)


@dataclass(frozen=True)
class References:
    """Reference losses on the training sequences: the in-context unigram (the model at a = 0), the Bayes-optimal
    posterior mean with the true parents, and the raw count estimator."""

    unigram: float
    bayes: float
    count: float


@dataclass(frozen=True)
class StageSpan:
    """Steps ``start`` + 1 .. ``end`` train ``name`` (the stage's parameter groups)."""

    name: str
    start: int
    end: int


STAGE_NAMES = {("c",): "I · selector c", ("w",): "II · RPE w", ("a",): "III · scale a", ("c", "w", "a"): "joint"}


@dataclass(frozen=True)
class InductionView(StepView):
    """The run at ``step``, as the figures, the page and the CLI read it.  Row t of every per-step array is the
    state after t steps; ``loss`` [t] is the training loss there (NaN while not yet measured: the loss of a
    step's parameters is measured by the next step's forward pass, and the final one by ``finish``)."""

    config: InductionConfig
    step: int
    loss: np.ndarray  # [step + 1]
    selector: np.ndarray  # [step + 1, subsets] p_S
    rpe: np.ndarray  # [step + 1, H, M] softmax(w_h)
    scale: np.ndarray  # [step + 1] a
    eval_steps: np.ndarray  # steps at which the validation set was measured
    val_loss: np.ndarray
    matching_mass: np.ndarray  # layer-2 attention mass on history-matching positions of the validation set
    head_sets: tuple[tuple[int, ...], ...]  # the selector's subsets, as 1-based heads
    stages: tuple[StageSpan, ...]
    theory: PriorTheory
    references: References
    display_tokens: np.ndarray = field(repr=False)  # one validation sequence [L + 1], for the layer-2 attention
    _display: Matches = field(repr=False, default=None)

    def upto(self, step: int) -> "InductionView":
        """The run as it was at an earlier ``step`` (a replay)."""
        keep = self.eval_steps <= step
        return replace(self, step=step, loss=self.loss[: step + 1], selector=self.selector[: step + 1],
                        rpe=self.rpe[: step + 1], scale=self.scale[: step + 1], eval_steps=self.eval_steps[keep],
                        val_loss=self.val_loss[keep], matching_mass=self.matching_mass[keep])

    # ------------------------------------------------------------------ what the run shows
    @property
    def stage_now(self) -> StageSpan | None:
        return next((s for s in self.stages if s.start < self.step <= s.end), None)

    def chosen(self, row: int = -1) -> tuple[int, ...]:
        """The heads (1-based) of the subset with the largest p_S at ``row`` (empty while every p_S is equal)."""
        return chosen_heads(self.selector[row], self.head_sets)

    @property
    def selected(self) -> tuple[int, ...]:
        """The heads (1-based) of the subset with the largest p_S now."""
        return self.chosen()

    @property
    def theory_heads(self) -> tuple[int, ...]:
        """The theory's set S* as heads: head h starts out preferring distance h."""
        return self.theory.best

    def copied(self, heads: tuple[int, ...], row: int = -1) -> list[int]:
        """The distances the given heads attend to most at ``row``."""
        return copied_distances(self.rpe[row], [h - 1 for h in heads])

    @property
    def t_selected(self) -> int | None:
        """t_I: the first step at which the theory's set S* holds more than 90 % of the selector."""
        column = self.head_sets.index(self.theory_heads)
        hits = np.flatnonzero(self.selector[:, column] > SELECTED)
        return int(hits[0]) if hits.size else None

    @property
    def t_copying(self) -> int | None:
        """t_II: the first step from t_I on at which every head of the selected subset puts >= 95 % of its RPE on
        one distance."""
        start = self.t_selected
        if start is None:
            return None
        chosen = np.argmax(self.selector, axis=1)
        peak = self.rpe.max(axis=2)  # [T, H]
        for t in range(start, self.step + 1):
            heads = self.head_sets[chosen[t]]
            if heads and np.ptp(self.selector[t]) > 1e-9 and all(peak[t, h - 1] >= COPYING for h in heads):
                return t
        return None

    @property
    def latest_loss(self) -> float:
        known = self.loss[np.isfinite(self.loss)]
        return float(known[-1]) if known.size else math.nan

    def display_attention(self, row: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """(layer-2 attention over positions 1..L, whether each position's history matches the query's at the
        distances the selected heads copy) for the display sequence at ``row``."""
        params = _params_at(self.rpe[row], self.selector[row], self.scale[row], self.head_sets)
        with torch.no_grad():
            _, attention, _ = forward(params, self._display)
        match = matching_positions(self.display_tokens[None, :], self.copied(self.chosen(row), row))[0]
        return attention[0].numpy(), match


def chosen_heads(selector: np.ndarray, head_sets) -> tuple[int, ...]:
    """The subset with the largest p_S (empty while they are all equal, as at the start)."""
    return () if np.ptp(selector) < 1e-9 else head_sets[int(np.argmax(selector))]


def matching_positions(tokens: np.ndarray, distances) -> np.ndarray:
    """[N, L]: the positions whose history at ``distances`` matches the query's (none without distances)."""
    return history_matches(tokens, distances) if distances else np.zeros((tokens.shape[0], tokens.shape[1] - 1), bool)


def _params_at(rpe: np.ndarray, selector: np.ndarray, scale: float, head_sets) -> Params:
    """Parameters that give the recorded state: w = log softmax(w) (a constant per row changes nothing) and
    c = sqrt(p_S) (p_S = c² / Σ c² again)."""
    return Params(w=torch.log(torch.tensor(np.maximum(rpe, 1e-30), dtype=torch.float32)),
                  c=torch.tensor(np.sqrt(selector), dtype=torch.float32), a=torch.tensor(float(scale)),
                  sets=tuple(tuple(h - 1 for h in s) for s in head_sets))


class InductionEngine(FixedConfigEngine):
    """Trains one :class:`InductionConfig` one step at a time (full batch); records every step."""

    def __init__(self, config: InductionConfig):
        super().__init__(config, plan_run(config))
        c = config
        rng = np.random.default_rng(c.seed)
        train, _ = sample_sequences(rng, c.samples, c.length, c.vocab, c.parents, c.alpha, c.mixture)
        val, _ = sample_sequences(rng, c.samples, c.length, c.vocab, c.parents, c.alpha, c.mixture)
        self.train_tokens, self.val_tokens = train, val
        self.train = matches(torch.from_numpy(train), c.window, c.vocab)
        self.val = matches(torch.from_numpy(val), c.window, c.vocab)
        self._display = matches(torch.from_numpy(val[:1]), c.window, c.vocab)
        self.theory = prior_theory(c.vocab, c.parents, c.alpha, c.mixture, c.heads, c.degree, c.seed)
        self.head_sets = self.theory.sets  # one selector coefficient per subset of heads 1..H, |S| <= D
        self.params = Params.init(c.heads, c.window, [tuple(h - 1 for h in s) for s in self.head_sets],
                                  w_plus=c.w_plus, w_minus=c.w_minus)
        self.references = References(unigram_loss(train), bayes_loss(train, c.parents, c.vocab, c.alpha),
                                     count_loss(train, c.parents, c.vocab))
        spans, start = [], 0
        for stage in c.stages:
            spans.append(StageSpan(STAGE_NAMES[stage.trains], start, start + stage.steps))
            start += stage.steps
        self.stages, self._stage_list = tuple(spans), c.stages
        total = self.total_steps
        self._loss = np.full(total + 1, np.nan)
        self._selector = np.zeros((total + 1, len(self.head_sets)))
        self._rpe = np.zeros((total + 1, c.heads, c.window))
        self._scale = np.zeros(total + 1)
        self._eval: list[tuple[int, float, float]] = []  # (step, validation loss, matching mass), append-only
        self._record(0)
        self._evaluate(0)

    # ------------------------------------------------------------------ training
    def step(self) -> None:
        t = self.step_count
        index = next(i for i, s in enumerate(self.stages) if s.start <= t < s.end)
        stage = self._stage_list[index]
        params = self.params
        probability, attention, _ = forward(params, self.train)
        loss = loss_from(probability, attention, self.train, self.config.loss)
        groups = [getattr(params, name) for name in stage.trains]
        grads = torch.autograd.grad(loss, groups)
        with torch.no_grad():
            for p, g in zip(groups, grads):
                p -= stage.lr * g
        value = float(loss.detach())
        self._loss[t] = value  # the loss of the parameters after t steps
        self._record(t + 1)
        if not (math.isfinite(value) and np.isfinite(self._rpe[t + 1]).all() and math.isfinite(self._scale[t + 1])):
            self.diverged(t + 1, f"the loss or the parameters became NaN or infinite in stage {self.stages[index].name}"
                                "; lower that stage's learning rate")
        self.step_count = t + 1
        if (t + 1) % EVAL_EVERY == 0 or t + 1 == self.stages[index].end:
            self._evaluate(t + 1)

    def finish(self) -> None:
        """The final training loss (no step measures it) and a last validation measurement."""
        with torch.no_grad():
            probability, attention, _ = forward(self.params, self.train)
            self._loss[self.step_count] = float(loss_from(probability, attention, self.train, self.config.loss))
        if not self._eval or self._eval[-1][0] != self.step_count:
            self._evaluate(self.step_count)

    def _record(self, row: int) -> None:
        p = self.params
        with torch.no_grad():
            self._selector[row] = p.selector.numpy()
            self._rpe[row] = torch.softmax(p.w, dim=-1).numpy()
            self._scale[row] = float(p.a)

    def _evaluate(self, step: int) -> None:
        """Validation loss and the layer-2 attention mass on the positions whose history matches the query's at the
        distances the currently selected heads copy."""
        with torch.no_grad():
            probability, attention, _ = forward(self.params, self.val)
            loss = float(loss_from(probability, attention, self.val, self.config.loss))
        heads = chosen_heads(self._selector[step], self.head_sets)
        match = matching_positions(self.val_tokens, copied_distances(self._rpe[step], [h - 1 for h in heads]))
        mass = float((attention.numpy() * match).sum(axis=1).mean()) if heads else math.nan
        self._eval.append((step, loss, mass))

    # ------------------------------------------------------------------ reading
    def view(self, step: int | None = None) -> InductionView:
        step = self.step_count if step is None else step
        evals = [e for e in list(self._eval) if e[0] <= step]
        loss = self._loss[: step + 1].copy()
        return InductionView(
            config=self.config, step=step, loss=loss, selector=self._selector[: step + 1].copy(),
            rpe=self._rpe[: step + 1].copy(), scale=self._scale[: step + 1].copy(),
            eval_steps=np.array([e[0] for e in evals], dtype=int), val_loss=np.array([e[1] for e in evals]),
            matching_mass=np.array([e[2] for e in evals]), head_sets=self.head_sets, stages=self.stages,
            theory=self.theory, references=self.references, display_tokens=self.val_tokens[0], _display=self._display)


def stage_stops(config: InductionConfig) -> dict[int, str]:
    """{step: why} for an auto-pause at the end of each stage but the last."""
    stops, end = {}, 0
    for stage in config.stages[:-1]:
        end += stage.steps
        stops[end] = f"the end of stage {STAGE_NAMES[stage.trains]}"
    return stops


def selection_reached(engine: "InductionEngine") -> str | None:
    """Why to auto-pause once the theory's set holds more than 90 % of the selector (t_I); cheap: one lookup."""
    column = engine.head_sets.index(engine.theory.best)
    if engine._selector[engine.step_count, column] > SELECTED:
        return f"the selector put more than {SELECTED:.0%} on the theory's heads {set_text(engine.theory.best)} (t_I)"
    return None


def plan_run(config: InductionConfig) -> Plan:
    """What a run costs before it is built: 32 MiB (the data, the prior's χ²-MI and allocator overhead) plus three
    times the float32 match indicators of one set of sequences (training and validation sets, what the backward pass
    keeps); fitted to the peak RSS growth at N = 1000, L = 64, M = 3 (47 MiB) and N = 2000, L = 128, M = 5 (187 MiB),
    BENCHMARKS.md."""
    c = config
    per_set = 4 * c.samples * (c.length * (2 * c.window ** 2 + 3) + c.window ** 2)
    return run_plan(32 * 2**20 + 3 * per_set, c.total_steps, "samples", c.samples,
                    "fewer sequences or a shorter context")


def live_runner(config: InductionConfig, delay: float = 0.0, threads: int | None = 1) -> Runner:
    """A background Runner training ``config`` (large runs are built on their first step)."""
    return Runner(config, build=InductionEngine, delay=delay, threads=threads, plan=plan_run,
                  build_now_below=LIMITS.build_on_open_mb * 2**20)

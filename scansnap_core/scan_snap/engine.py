"""Training engine for the Y/Z model (docs/THEORY.md §2–§3), batched over runs.

One :class:`Engine` trains R runs that share a layout and a model structure and differ
only in η_Y, η_Z and seed (a single run is R = 1; a sweep stacks many).  Each run has its
own ``numpy.random.Generator`` seeded with its seed (init first, then one minibatch per
step), so a run inside a sweep draws exactly the data and init it would draw alone.

Cost of one step, with B = batch, S = largest class support, C = decoder columns:
sampling O(B·S) (multinomial counts, independent of T); attention O(B·S); decoder forward
O(B·S·C); decoder update one batched matmul O(B·M·C); the attended-token check that the
snap needs (docs/THEORY.md, "Measured events") O(K·S).
Under zero init all output columns that are never a next token stay identical forever
(they receive identical gradients from identical values), so the engine stores them as
one *tied* column with multiplicity M − K: C = K + 1, so memory is O(M·K) instead of O(M²).  Default init breaks that symmetry; then C = M and Y is a dense M × M matrix.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..lab.devices import resolve_device
from ..lab.fields import ConfigError
from ..lab.limits import LIMITS
from ..lab.runner import Runner
from ..lab.trainable import Plan
from .config import RunConfig
from .events import attended_threshold
from .layout import Layout
from .memory import check_memory, estimate_memory_bytes, tied_columns
from .optimizer import RunwiseOptimizer

__all__ = ["Engine", "Record", "batch_key", "live_runner", "plan_run"]

def batch_key(cfg: RunConfig) -> RunConfig:
    """Runs with equal keys can share one :class:`Engine` (they differ in η_Y, η_Z, seed only)."""
    return cfg.replace(eta_y=1.0, eta_z=1.0, seed=0)


class _Forward(NamedTuple):
    attention: torch.Tensor  # c over each class support [R, N, S]
    z: torch.Tensor  # attention logits over the support [R, N, S]
    values: torch.Tensor  # f, the normalised histogram entries [R, N, S(+1)]
    keys: torch.Tensor  # their token ids [R, N, S(+1)]
    samples: torch.Tensor  # (run, class) of every sample: rows of the per-class tables [R·N]
    out: torch.Tensor  # decoder logits o = Yᵀf [R, N, C]
    log_prob: torch.Tensor  # log α per column [R, N, C]
    target_col: torch.Tensor  # column of the correct next token [R, N, 1]
    nll: torch.Tensor  # −log α_n [R, N]


@dataclass
class Record:
    """Population metrics of every run at one recorded step (numpy arrays, leading axis = run).

    ``attention`` is c_n (Eqn 5) over each class support [R, K, S]; ``logits`` are the
    attention logits z_{ψ(n), l} over the same tokens [R, K, S]; ``correct_logit`` and
    ``correct_prob`` are o_n and α_n at the correct next token [R, K] with the population
    f_n; ``entropy_distinct`` is the Fig. 6 metric [R]; ``loss`` the population loss [R].
    """

    step: int
    attention: np.ndarray
    logits: np.ndarray
    correct_logit: np.ndarray
    correct_prob: np.ndarray
    entropy_distinct: np.ndarray
    loss: np.ndarray


class Engine:
    """Trains R compatible runs in lock-step.  See the module docstring."""

    def __init__(self, configs: RunConfig | Sequence[RunConfig], max_records: int | None = None,
                 tie_columns: bool | None = None):
        """``tie_columns``: store the never-target output columns once (exact only under zero
        init; ``None`` = whenever exact).  ``max_records`` bounds the kept history."""
        configs = [configs] if isinstance(configs, RunConfig) else list(configs)
        if not configs:
            raise ConfigError("configs", configs, "at least one RunConfig")
        key = batch_key(configs[0])
        for cfg in configs[1:]:
            if batch_key(cfg) != key:
                raise ConfigError("configs", "runs with different layouts or settings",
                                  "runs that differ only in eta_y, eta_z and seed")
        check_memory(configs[0], max_records)
        self.device = resolve_device(configs[0].train.device)
        self.memory_bytes = estimate_memory_bytes(configs[0], len(configs), max_records)
        self.configs = configs
        self.config = configs[0]
        self.layout = Layout(self.config.data)
        self.max_records = max_records
        self.record_every = self.config.train.record_every

        L, R = self.layout, len(configs)
        self.R, self.M, self.K, self.Q, self.S = R, L.M, L.K, L.Q, L.S
        if tie_columns and not tied_columns(self.config):
            raise ConfigError("tie_columns", tie_columns, "False unless init is 'zero' (tying is exact only then)")
        self.tied = tied_columns(self.config) if tie_columns is None else tie_columns
        self.C = self.K + 1 if self.tied else self.M
        support = torch.tensor(L.support, dtype=torch.long)
        self._log_prob = torch.log(torch.tensor(L.support_prob, dtype=torch.float32))
        self._distinct = torch.tensor(L.support_distinct)
        psi = torch.tensor(L.psi, dtype=torch.long)
        self._target_col = torch.arange(self.K) if self.tied else torch.tensor(L.next_token, dtype=torch.long)
        self._run_offset = torch.arange(R)
        # per (run, class) index tables, so that a step gathers whole rows by class (index_select), never
        # elementwise: the decoder rows f touches (the support, and the query token with the residual) and
        # the entries of Z that attention reads, as ids into the flattened Y [R·M, C] and Z [R·Q·M]
        keys = torch.cat([support, torch.tensor(L.query_token)[psi].unsqueeze(-1)], -1) \
            if self.config.model.residual else support
        self._class_keys = keys  # [K, S(+1)]
        run = self._run_offset.view(R, 1, 1)
        self._class_rows = (keys + run * self.M).view(R * self.K, -1)
        self._class_z = ((run * self.Q + psi.view(1, -1, 1)) * self.M + support).view(R * self.K, self.S)
        self._dense_value_grad = self.M <= 8 * keys.shape[1]  # see _value_grad
        # the tied column stands for M − K identical output columns
        multiplicity = torch.ones(self.C)
        if self.tied:
            multiplicity[self.K] = self.M - self.K
        self._col_multiplicity = multiplicity
        self._log_multiplicity = torch.log(multiplicity)

        self.generators = [np.random.default_rng(cfg.train.seed) for cfg in configs]
        self.Y, self.Z = self._init_params()
        self._eta = {
            "Y": torch.tensor([c.train.eta_y for c in configs], dtype=torch.float32),
            "Z": torch.tensor([c.train.eta_z for c in configs], dtype=torch.float32),
        }
        self._optimizers = {name: RunwiseOptimizer(self.config.train) for name in ("Y", "Z")}
        self._rates_lock = threading.Lock()
        self._steps_begun = 0

        self.step_count = 0
        self.diverged_at = np.full(R, -1)  # first step with a non-finite loss or parameter, -1 if none
        # per-step scalars [steps, R], grown by doubling (a step appends in O(1), reads are slices)
        self._loss = np.zeros((max(16, self.config.train.steps), R), np.float32)
        self._dz = np.zeros_like(self._loss)
        self._changed = np.zeros_like(self._loss, dtype=bool)  # attended distinct tokens changed at the step
        self._distinct_log_prob = torch.where(self._distinct, self._log_prob, -torch.inf)
        self._attend_above = torch.from_numpy(attended_threshold(L.support_distinct)).float()
        for name, value in list(vars(self).items()):  # everything above was built on the CPU
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(self.device))
        self._eta = {name: rate.to(self.device) for name, rate in self._eta.items()}
        self._attended = self._attended_now()
        self.records: list[Record] = []
        self.record()

    # ------------------------------------------------------------------ parameters
    def _init_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Y [R, M, C] (row = contextual token l, column = output j, §2) and the query rows of
        Z [R, Q, M] (row q = attention logits of query token q; other rows of Z are unused)."""
        R, M, C, Q = self.R, self.M, self.C, self.Q
        Y = torch.zeros(R, M, C)
        Z = torch.zeros(R, Q, M)
        if not tied_columns(self.config):  # default init with a positive scale
            bound = self.config.model.init_scale / math.sqrt(M)
            for r, g in enumerate(self.generators):  # init only: one draw per run, from its own generator
                Y[r] = torch.from_numpy(g.random((M, C), dtype=np.float32)).mul_(2 * bound).sub_(bound)
                Z[r] = torch.from_numpy(g.random((Q, M), dtype=np.float32)).mul_(2 * bound).sub_(bound)
        return Y, Z  # gradients are formed explicitly (see _step)

    def full_Y(self, run: int = 0) -> np.ndarray:
        """Y of one run as the full M × M matrix (tied columns expanded)."""
        Y = self.Y[run]
        if not self.tied:
            return Y.cpu().numpy().copy()
        full = Y[:, self.K].unsqueeze(1).expand(self.M, self.M).clone()
        full[:, torch.tensor(self.layout.next_token, device=Y.device)] = Y[:, : self.K]
        return full.cpu().numpy()

    def full_Z_rows(self, run: int = 0) -> np.ndarray:
        """The query rows of Z [Q, M] of one run."""
        return self.Z[run].cpu().numpy().copy()

    # ------------------------------------------------------------------ forward
    def _forward(self, classes: torch.Tensor, log_weight: torch.Tensor) -> "_Forward":
        """Forward pass of §2 for every run at once.

        classes [R, N] class ids; log_weight [R, N, S] log of the token counts (sampled) or of
        P(l|n) (population) over each class support; −inf on absent tokens.
        """
        R, N = classes.shape
        flat = (classes + self._run_offset.view(R, 1) * self.K).view(-1)  # (run, class) of every sample
        z = self._class_support_logits().index_select(0, flat).view(R, N, self.S)
        attention = torch.softmax(log_weight + z, dim=-1)  # = X^T b restricted to the support
        keys = self._class_keys.index_select(0, classes.reshape(-1)).view(R, N, -1)
        values = attention
        if self.config.model.residual:  # v <- v + e_m (the code's residual): one more entry, the query token
            values = torch.cat([attention, torch.ones(R, N, 1, device=self.device)], dim=-1)
        if self.config.model.normalize:
            values = values / values.norm(dim=-1, keepdim=True)
        rows = self._class_rows.index_select(0, flat)
        # for _value_grad's sparse branch, a graph from the values (a leaf of their own) through the bag only
        values = values.detach().requires_grad_(torch.is_grad_enabled() and not self._dense_value_grad)
        out = F.embedding_bag(rows, self.Y.view(R * self.M, self.C), per_sample_weights=values.view(R * N, -1),
                              mode="sum").view(R, N, self.C)
        o = out.detach()  # log-probabilities of the output columns; the tied column is one of its M − K copies
        log_prob = (o - torch.logsumexp(o + self._log_multiplicity, dim=-1, keepdim=True) if self.tied
                    else torch.log_softmax(o, dim=-1))  # one fused pass over [R, N, C]
        target_col = self._target_col[classes].unsqueeze(-1)
        nll = -log_prob.gather(-1, target_col).squeeze(-1)
        return _Forward(attention, z, values, keys, flat, out, log_prob, target_col, nll)

    def _class_support_logits(self) -> torch.Tensor:
        """z_{ψ(n), l} over the support of every (run, class) [R·K, S]."""
        return self.Z.view(-1)[self._class_z]

    @torch.no_grad()
    def _attended_now(self) -> torch.Tensor:
        """[R, K, S] bool: the distinct tokens each class attends to now: the population attention
        restricted to the class's distinct tokens, renormalised, above events.attended_threshold
        (off-distinct shares are 0 or NaN, never above it).  O(R·K·S) per call."""
        logits = self._class_support_logits().view(self.R, self.K, -1)
        share = torch.softmax(self._distinct_log_prob + logits, dim=-1)
        return share > self._attend_above

    def _population_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        classes = torch.arange(self.K, device=self.device).expand(self.R, self.K)
        return classes, self._log_prob.expand(self.R, self.K, self.S)

    def draw_batches(self) -> tuple[np.ndarray, np.ndarray]:
        """The next minibatch of every run from its own generator: (classes [R, B], counts [R, B, S]); the
        data's only randomness, so another thread may draw ahead (sweep._PrefetchedBatches)."""
        t = self.config.train
        draws = [self.layout.sample(g, t.batch_size, t.seq_len) for g in self.generators]
        return np.stack([c for c, _ in draws]), np.stack([n for _, n in draws])

    def batch_inputs(self, classes: np.ndarray, counts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """A drawn minibatch as the forward pass's input (class ids, log counts) on the engine's device."""
        log_counts = torch.log(torch.from_numpy(counts.astype(np.float32)))
        return torch.from_numpy(classes).to(self.device), log_counts.to(self.device)

    def _sample_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.batch_inputs(*self.draw_batches())

    # ------------------------------------------------------------------ training
    def _begin_step(self) -> None:
        """Count the step as begun and take its learning rates: from the last of ``rate_changes`` at or
        before it (shared by every run: the changes are part of the batch key), else each run's own.
        Under ``_rates_lock`` so that a live change (:meth:`retune`) lands exactly on the first step that
        has not begun."""
        with self._rates_lock:
            self._steps_begun = step = self.step_count + 1
            changes = [c for c in self.config.train.rate_changes if c[0] <= step]
        if changes:
            self._eta["Y"].fill_(changes[-1][1])
            self._eta["Z"].fill_(changes[-1][2])

    def step(self, n: int = 1) -> None:
        """Run ``n`` optimizer steps for every run."""
        for _ in range(n):
            self._step()

    def _step(self) -> None:
        """One step of gradient descent on the mean cross-entropy (= ascent on J, Lemma 1), with the
        gradients formed explicitly.  The decoder's is an outer product, ∂L/∂Y = Fᵀ G with F [N, M] the
        normalised histograms (the LN(Xᵀb) of Lemma 1) and G = (α − e_n)/N [N, C], accumulated straight into
        the momentum buffer (one batched matmul: on a CPU dense BLAS beats torch's sparse products at every M
        measured, BENCHMARKS.md); the attention's goes back from ∂L/∂f (:meth:`_value_grad`, :meth:`_z_grad`)."""
        self._begin_step()
        inputs = self._population_inputs() if self.config.train.mode == "expected" else self._sample_inputs()
        fw = self._forward(*inputs)
        R, N = fw.nll.shape
        grad_out = fw.log_prob.exp()  # α per column (the tied column: one copy's share)
        grad_out.scatter_add_(-1, fw.target_col, torch.full(fw.target_col.shape, -1.0, device=self.device))
        grad_out /= N
        # ∂L/∂f sums over all M output columns: the tied column counts M − K times
        grad_z = self._z_grad(fw, self._value_grad(fw, grad_out * self._col_multiplicity if self.tied else grad_out))
        with torch.no_grad():
            values = fw.values.detach()
            hist = torch.zeros(R, N, self.M, device=self.device).scatter_add_(2, fw.keys, values)
            z_before = self.Z.clone()
            self._optimizers["Y"].step_outer(self.Y, hist.transpose(1, 2), grad_out, self._eta["Y"])
            self._optimizers["Z"].step(self.Z, grad_z, self._eta["Z"])
            dz = (self.Z - z_before).flatten(1).norm(dim=1)
        loss = fw.nll.mean(dim=1)  # [R]
        attended = self._attended_now()
        if self.step_count == len(self._loss):
            self._loss = np.concatenate([self._loss, np.zeros_like(self._loss)])
            self._dz = np.concatenate([self._dz, np.zeros_like(self._dz)])
            self._changed = np.concatenate([self._changed, np.zeros_like(self._changed)])
        self._loss[self.step_count] = loss.cpu().numpy()
        self._dz[self.step_count] = dz.cpu().numpy()
        self._changed[self.step_count] = (attended != self._attended).flatten(1).any(dim=1).cpu().numpy()
        self._attended = attended
        self.step_count += 1
        bad = ~torch.isfinite(loss) | ~torch.isfinite(dz)
        newly = bad.cpu().numpy() & (self.diverged_at < 0)
        self.diverged_at[newly] = self.step_count
        if self.step_count % self.record_every == 0:
            self.record()

    def _value_grad(self, fw: "_Forward", grad_f: torch.Tensor) -> torch.Tensor:
        """∂L/∂v = Y[key]·∂L/∂f for every entry of f [R, N, S(+1)]: dense (∂L/∂f Yᵀ, then a gather; N·M·C)
        while M ≤ 8 × the entries per sample, where one batched matmul beats the embedding bag's own sparse
        backward (N·S·C, several times slower per entry; measured on the Fig. 6 layouts); sparse beyond."""
        if self._dense_value_grad:
            return torch.bmm(grad_f, self.Y.transpose(1, 2)).gather(-1, fw.keys)
        (grad,) = torch.autograd.grad(fw.out, fw.values, grad_outputs=grad_f)
        return grad

    def _z_grad(self, fw: "_Forward", grad_values: torch.Tensor) -> torch.Tensor:
        """∂L/∂Z from ∂L/∂v: back through the normalisation, past the residual's constant entry and through the
        softmax to the support logits, summed per (run, class), then into the entries of Z each class reads."""
        g, a, v = grad_values, fw.attention, fw.values.detach()
        if self.config.model.normalize:  # v = w/‖w‖ with w = attention (+ the residual's 1)
            norm = (a.square().sum(-1, keepdim=True) + float(self.config.model.residual)).sqrt()
            g = (g - v * (v * g).sum(-1, keepdim=True)) / norm
        g = g[..., : self.S]
        g = a * (g - (a * g).sum(-1, keepdim=True))  # softmax backward
        per_class = torch.zeros(self.R * self.K, self.S, device=self.device)
        per_class.index_add_(0, fw.samples, g.reshape(-1, self.S))
        grad_z = torch.zeros(self.Z.numel(), device=self.device)
        return grad_z.index_add_(0, self._class_z.view(-1), per_class.view(-1)).view_as(self.Z)

    # ------------------------------------------------------------------ as a live run (lab.trainable.Trainable)
    @property
    def total_steps(self) -> int:
        return self.config.train.steps

    def divergence(self) -> tuple[int, str] | None:
        """(first bad step, what to try) once a run's loss or attention logits became NaN/inf."""
        bad = self.diverged_at[self.diverged_at >= 0]
        if not len(bad):
            return None
        t = self.config.train
        return int(bad.min()), (f"the loss or the attention logits became NaN/inf. Lower eta_y ({t.eta_y:g}) or "
                                f"eta_z ({t.eta_z:g}), or the momentum ({t.momentum:g}), and Reset.")

    def finish(self) -> None:
        self.ensure_final_record()

    def view(self, step: int):
        """Run 0 at ``step`` as figure input (a RunData); safe while another thread steps (see per_step)."""
        from .results import RunData  # results builds on this module

        losses, dz, changed = self.per_step(step)
        records = tuple(r for r in tuple(self.records) if r.step <= step)
        return RunData.build(self.config, self.layout, records, losses[:, 0], dz[:, 0], changed[:, 0])

    def retune(self, config: RunConfig) -> str:
        """Train with ``config``'s learning rates from the next step on, recorded in the run's
        ``rate_changes`` (replacing changes it had planned for later steps): the only settings a run can
        change while it trains (the rest waits for Reset, a ConfigError here).  Says what changed ('' if
        those are the rates the next step would use anyway)."""
        if len(self.configs) != 1:
            raise ConfigError("configs", f"{len(self.configs)} runs", "one run (a sweep's rates are fixed)")
        ours = self.config
        if config.replace(eta_y=ours.train.eta_y, eta_z=ours.train.eta_z, rate_changes=()) != ours.replace(
                rate_changes=()):
            raise ConfigError("config", "a change besides eta_y and eta_z",
                              "only learning-rate changes while training; the others apply on Reset")
        rates = (config.train.eta_y, config.train.eta_z)
        with self._rates_lock:  # the first step that has not begun (one may be under way in another thread)
            step = self._steps_begun + 1
            if rates == ours.train.rates_at(step):
                return ""
            if step > ours.train.steps:
                raise ConfigError("eta_y, eta_z", "a change after the last step", "a change while the run trains")
            kept = tuple(c for c in ours.train.rate_changes if c[0] < step)
            self.config = ours.replace(rate_changes=kept + ((step, *rates),))
            self.configs = [self.config]
        return f"learning rates η_Y = {rates[0]:g}, η_Z = {rates[1]:g} from step {step}"

    # ------------------------------------------------------------------ metrics
    @torch.no_grad()
    def record(self) -> Record:
        """Record the population metrics of the current state (step ``step_count``)."""
        fw = self._forward(*self._population_inputs())
        rec = Record(
            step=self.step_count,
            attention=fw.attention.cpu().numpy().copy(),
            logits=fw.z.cpu().numpy().copy(),
            correct_logit=fw.out.gather(-1, fw.target_col).squeeze(-1).cpu().numpy().copy(),
            correct_prob=torch.exp(-fw.nll).cpu().numpy().copy(),
            entropy_distinct=_distinct_entropy(fw.attention, self._distinct).cpu().numpy(),
            loss=fw.nll.mean(dim=1).cpu().numpy().copy(),
        )
        self.records.append(rec)
        if self.max_records is not None and len(self.records) > self.max_records:
            # bounded history: keep every other record (always the first and the newest)
            self.records = self.records[:-1:2] + [self.records[-1]]
            self.record_every *= 2
        return rec

    def ensure_final_record(self) -> Record:
        """Record the current state unless the newest record already is it."""
        if self.records[-1].step != self.step_count:
            return self.record()
        return self.records[-1]

    def per_step(self, steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Copies of (losses, ‖ΔZ‖, attended changed) of steps 1..``steps`` (default: all so far),
        each [steps, R].  Safe to call from another thread while this engine trains: rows are
        written before ``step_count`` moves past them."""
        n = self.step_count if steps is None else steps
        # grab the arrays first: a step may replace them with larger ones
        loss, dz, changed = self._loss, self._dz, self._changed
        return loss[:n].copy(), dz[:n].copy(), changed[:n].copy()

    @property
    def losses(self) -> np.ndarray:
        """Training loss of steps 1..t [t, R] (each evaluated before its update)."""
        return self._loss[: self.step_count]

    @property
    def dz_norms(self) -> np.ndarray:
        """‖Z_t − Z_{t−1}‖_F for steps 1..t [t, R]."""
        return self._dz[: self.step_count]

    @property
    def attended_changed(self) -> np.ndarray:
        """Whether step 1..t changed the set of attended distinct tokens (:meth:`attended`) [t, R]."""
        return self._changed[: self.step_count]


def live_runner(config: RunConfig | Sequence[RunConfig], max_records: int = 2000, delay: float = 0.0,
                threads: int | None = 1) -> Runner:
    """A background :class:`~scansnap_core.lab.runner.Runner` training ``config`` (or several configs in
    lockstep), one Engine per run keeping at most ``max_records`` records (older ones thinned)."""
    return Runner(config, build=lambda cfg: Engine(cfg, max_records=max_records), delay=delay, threads=threads,
                  plan=lambda cfg: plan_run(cfg, max_records), build_now_below=LIMITS.build_on_open_mb * 2**20)


def plan_run(cfg: RunConfig, max_records: int | None = None) -> Plan:
    """What training ``cfg`` will cost, without building it; ConfigError where :class:`Engine` would refuse it."""
    check_memory(cfg, max_records)
    resolve_device(cfg.train.device)
    return Plan(memory_bytes=estimate_memory_bytes(cfg, max_records=max_records), total_steps=cfg.train.steps)


def _distinct_entropy(attention: torch.Tensor, distinct: torch.Tensor) -> torch.Tensor:
    """Fig. 6 metric (§7): c_n restricted to G_DT(n), renormalised, Shannon entropy (nats),
    averaged over the classes that have distinct tokens.  attention [R, K, S] -> [R]."""
    mass = (attention * distinct).sum(-1, keepdim=True)
    p = attention * distinct / mass
    h = -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(-1)
    h = torch.where(mass.squeeze(-1) > 0, h, torch.nan)  # undefined for a class without distinct tokens
    return torch.nanmean(h, dim=-1)

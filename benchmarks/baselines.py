"""Two baseline trainers of the Y/Z model (docs/THEORY.md §2) for the benchmarks.

Both train exactly the model and data distribution of :class:`scansnap_core.scan_snap.engine.Engine`
(same layout, P(l|n), ψ, init and optimizer semantics; separate torch.optim optimizers for
Y at rate η_Y and Z at rate η_Z), but the straightforward way:

* :class:`ReferenceStyle` — how a first research implementation is typically written (like
  the authors' ``Model2``/``Dataset2``): a per-sample Python loop draws each sequence of T
  tokens with ``numpy.random.Generator.choice``, the batch is a one-hot ``B × T × M`` tensor,
  Z and Y are bias-free ``nn.Linear(M, M)`` layers (``K2.weight = Z``, row = query;
  ``K1.weight = Yᵀ``).  The query row of Z is read as ``one_hot(query) @ K2.weight`` (a
  B × M × M product) rather than by applying K2 to every context one-hot (B·T × M × M), so
  this baseline is the cheaper of the two ways such code is usually written.
* :class:`DenseVectorised` — a competent vectorised version: whole-batch sampling with
  ``torch.multinomial``, a dense ``B × M`` attention-weighted histogram built with
  ``scatter_add`` (no one-hot tensor), dense M × M parameters Y and Z, autograd.

Both expose ``__init__(cfg)``, ``step(n=1)``, ``sample()``, ``loss(...)`` and ``losses``
(training loss of every step, evaluated before its update).

Run ``python benchmarks/baselines.py`` for a sanity check (initial loss ln M under zero init,
the loss falls on Syn-Small, and both baselines and the engine give the same loss on the
same batch with the same parameters).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scansnap_core.lab.fields import ConfigError  # noqa: E402
from scansnap_core.scan_snap.config import RunConfig  # noqa: E402
from scansnap_core.scan_snap.layout import Layout  # noqa: E402
from scansnap_core.scan_snap.presets import preset  # noqa: E402

__all__ = ["ReferenceStyle", "DenseVectorised", "BASELINES"]


def _init_(weight: torch.Tensor, cfg: RunConfig, generator: torch.Generator) -> None:
    """The config's init in place: zeros, or i.i.d. U(−s/√M, s/√M) (PyTorch nn.Linear default for s = 1)."""
    s = cfg.model.init_scale
    if cfg.model.init == "zero" or s == 0:
        weight.zero_()
    else:
        bound = s / math.sqrt(cfg.vocab_size)
        weight.uniform_(-bound, bound, generator=generator)


def _optimizer(params, lr: float, cfg: RunConfig) -> torch.optim.Optimizer:
    """SGD with heavy-ball momentum or Adam, as the engine (docs/THEORY.md §2: one optimizer per matrix)."""
    t = cfg.train
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    return torch.optim.SGD(params, lr=lr, momentum=t.momentum)


class _Baseline:
    """Shared training loop: sample a minibatch, mean cross-entropy, backward, two optimizer steps."""

    def __init__(self, cfg: RunConfig):
        if cfg.train.mode != "sgd":
            raise ConfigError("mode", cfg.train.mode, "'sgd' (baselines train on sampled minibatches only)")
        self.config = cfg
        self.layout = Layout(cfg.data)
        self.M, self.K = self.layout.M, self.layout.K
        self.B, self.T = cfg.train.batch_size, cfg.train.seq_len
        self.generator = torch.Generator().manual_seed(cfg.train.seed)
        self.losses: list[float] = []
        self.optimizers: list[torch.optim.Optimizer] = []

    def sample(self):
        raise NotImplementedError

    def loss(self, *batch) -> torch.Tensor:
        raise NotImplementedError

    def step(self, n: int = 1) -> None:
        """Run ``n`` optimizer steps."""
        for _ in range(n):
            loss = self.loss(*self.sample())
            for opt in self.optimizers:
                opt.zero_grad()
            loss.backward()
            for opt in self.optimizers:
                opt.step()
            self.losses.append(loss.item())

    def _histogram_tail(self, v: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Residual (v ← v + e_m, one-hot ``query`` [B, M]) and ℓ2 normalisation (§2 step 3)."""
        if self.config.model.residual:
            v = v + query
        if self.config.model.normalize:
            v = v / v.norm(dim=-1, keepdim=True)
        return v


class ReferenceStyle(_Baseline):
    """Per-sample sampling loop, one-hot B × T × M input, ``nn.Linear`` K1 (= Yᵀ) and K2 (= Z)."""

    def __init__(self, cfg: RunConfig):
        super().__init__(cfg)
        M = self.M
        self.K1 = nn.Linear(M, M, bias=False)  # K1.weight[j, l] = Y[l, j]
        self.K2 = nn.Linear(M, M, bias=False)  # K2.weight[m, l] = Z[m, l]
        with torch.no_grad():
            _init_(self.K1.weight, cfg, self.generator)
            _init_(self.K2.weight, cfg, self.generator)
        self.optimizers = [_optimizer(self.K1.parameters(), cfg.train.eta_y, cfg),
                           _optimizer(self.K2.parameters(), cfg.train.eta_z, cfg)]
        self.criterion = nn.CrossEntropyLoss()
        self.rng = np.random.default_rng(cfg.train.seed)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sequences [B, T], labels [B])``: T−1 contextual tokens then the query token."""
        L, T = self.layout, self.T
        seqs = np.empty((self.B, T), dtype=np.int64)
        labels = np.empty(self.B, dtype=np.int64)
        for b in range(self.B):  # one sequence at a time, as in Dataset2
            n = self.rng.integers(L.K)
            seqs[b, : T - 1] = self.rng.choice(L.M, size=T - 1, p=L.P[n])
            seqs[b, T - 1] = L.query_token[L.psi[n]]
            labels[b] = L.next_token[n]
        return torch.from_numpy(seqs), torch.from_numpy(labels)

    def loss(self, seqs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        X = F.one_hot(seqs, self.M).float()  # [B, T, M]
        query, keys = X[:, -1], X[:, :-1]  # self-mask: the query position is not attended
        z_row = query @ self.K2.weight  # row m of Z [B, M]
        attn = torch.softmax(torch.bmm(keys, z_row.unsqueeze(-1)).squeeze(-1), dim=-1)  # b [B, T-1]
        hist = torch.bmm(keys.transpose(1, 2), attn.unsqueeze(-1)).squeeze(-1)  # Xᵀb [B, M]
        return self.criterion(self.K1(self._histogram_tail(hist, query)), labels)


class DenseVectorised(_Baseline):
    """Vectorised sampling, scatter_add histogram, dense M × M parameters Y and Z, autograd."""

    def __init__(self, cfg: RunConfig):
        super().__init__(cfg)
        L, M = self.layout, self.M
        self.Y = torch.empty(M, M)  # row = contextual token l, column = output j
        self.Z = torch.empty(M, M)  # row = query m, column = key l
        _init_(self.Y, cfg, self.generator)
        _init_(self.Z, cfg, self.generator)
        self.Y.requires_grad_()
        self.Z.requires_grad_()
        self.optimizers = [_optimizer([self.Y], cfg.train.eta_y, cfg), _optimizer([self.Z], cfg.train.eta_z, cfg)]
        self._P = torch.tensor(L.P, dtype=torch.float32)
        self._query = torch.tensor(L.query_token[L.psi], dtype=torch.long)  # query token of class n
        self._label = torch.tensor(L.next_token, dtype=torch.long)

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(context [B, T−1], classes [B])``, the whole batch at once."""
        classes = torch.randint(self.K, (self.B,), generator=self.generator)
        context = torch.multinomial(self._P[classes], self.T - 1, replacement=True, generator=self.generator)
        return context, classes

    def loss(self, context: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
        query = self._query[classes]
        attn = torch.softmax(self.Z[query.unsqueeze(1), context], dim=-1)  # b [B, T-1]
        hist = torch.zeros(len(classes), self.M).scatter_add(1, context, attn)  # Xᵀb [B, M]
        query_1hot = torch.zeros_like(hist).scatter_(1, query.unsqueeze(1), 1.0) if self.config.model.residual else None
        return F.cross_entropy(self._histogram_tail(hist, query_1hot) @ self.Y, self._label[classes])


BASELINES = {"reference": ReferenceStyle, "dense": DenseVectorised}


# --------------------------------------------------------------------------- sanity check
def _same_batch_losses(cfg: RunConfig) -> dict[str, float]:
    """Loss of the engine and both baselines on one batch with identical parameters."""
    from scansnap_core.scan_snap.engine import Engine

    engine = Engine(cfg)
    ref, dense = ReferenceStyle(cfg), DenseVectorised(cfg)
    L = engine.layout
    Y = torch.from_numpy(engine.full_Y())
    Z = torch.zeros(L.M, L.M)
    Z[torch.tensor(L.query_token)] = torch.from_numpy(engine.full_Z_rows())
    with torch.no_grad():
        ref.K1.weight.copy_(Y.T)
        ref.K2.weight.copy_(Z)
        dense.Y.copy_(Y)
        dense.Z.copy_(Z)
    context, classes = dense.sample()
    seqs = torch.cat([context, dense._query[classes].unsqueeze(1)], dim=1)
    support = torch.from_numpy(L.support)[classes]  # [B, S]
    valid = torch.from_numpy(L.support_prob > 0)[classes]
    counts = ((support.unsqueeze(-1) == context.unsqueeze(1)).sum(-1) * valid).float()
    with torch.no_grad():
        fw = engine._forward(classes.unsqueeze(0), torch.log(counts).unsqueeze(0))  # private, check only
        return {"engine": fw.nll.mean().item(), "reference": ref.loss(seqs, dense._label[classes]).item(),
                "dense": dense.loss(context, classes).item()}


def sanity_check(steps: int = 30) -> bool:
    """Print and return whether every check passes."""
    ok = True

    def check(name: str, passed: bool, detail: str) -> None:
        nonlocal ok
        ok &= passed
        print(f"- [{'ok' if passed else 'FAIL'}] {name}: {detail}")

    small = preset("syn-small")
    ln_m = math.log(small.vocab_size)
    for name, cls in BASELINES.items():
        for opt in ("sgd", "adam"):
            cfg = small if opt == "sgd" else small.replace(optimizer="adam", eta_y=0.5, eta_z=0.5)
            trainer = cls(cfg)
            trainer.step(steps)
            first, last = trainer.losses[0], float(np.mean(trainer.losses[-5:]))
            check(f"{name} / {opt}: first loss = ln M", abs(first - ln_m) < 1e-5, f"{first:.6f} vs ln {cfg.vocab_size} = {ln_m:.6f}")
            check(f"{name} / {opt}: loss decreases", last < 0.5 * first, f"{first:.4f} -> {last:.4f} (mean of last 5 of {steps})")
    for name in ("syn-medium-3", "syn-small"):
        losses = _same_batch_losses(preset(name).replace(init="default", seed=7))
        spread = max(losses.values()) - min(losses.values())
        check(f"same batch, same parameters ({name}, default init)", spread < 1e-4,
              ", ".join(f"{k} {v:.6f}" for k, v in losses.items()))
    return ok


if __name__ == "__main__":
    print("## Baseline sanity check\n")
    sys.exit(0 if sanity_check() else 1)

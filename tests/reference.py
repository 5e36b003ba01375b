"""A deliberately plain reference of the docs/THEORY.md §2 model for cross-checking the engine.

Token sequences are materialised position by position, inputs are one-hot, Y and Z are
full M × M parameters, gradients come from autograd and updates from torch.optim — the
way the authors' Model2 computes it.  Slow; for tests only.
"""

import numpy as np
import torch


class ReferenceModel:
    def __init__(self, engine, run: int = 0):
        cfg = engine.configs[run]
        self.cfg, self.layout = cfg, engine.layout
        M = self.layout.M
        Z = torch.zeros(M, M, dtype=torch.float64)
        Z[torch.tensor(self.layout.query_token)] = torch.tensor(engine.full_Z_rows(run), dtype=torch.float64)
        self.Y = torch.tensor(engine.full_Y(run), dtype=torch.float64).requires_grad_()
        self.Z = Z.requires_grad_()
        t = cfg.train
        if t.optimizer == "adam":
            make = lambda p, lr: torch.optim.Adam([p], lr=lr)  # noqa: E731
        else:
            make = lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=t.momentum)  # noqa: E731
        self.opt = [make(self.Y, t.eta_y), make(self.Z, t.eta_z)]

    def sequences(self, classes, counts):
        """Expand per-support counts into token sequences (order does not matter without
        positional encoding, Assumption 1(a)); per-sample loop, reference only."""
        support = self.layout.support
        return [np.repeat(support[n], c.astype(int)) for n, c in zip(classes, counts)]

    def loss(self, classes, counts):
        M, L = self.layout.M, self.layout
        losses = []
        for n, seq in zip(classes, self.sequences(classes, counts)):
            X = torch.nn.functional.one_hot(torch.tensor(seq), M).double()  # [T-1, M]
            m = int(L.query_token[L.psi[n]])
            b = torch.softmax(X @ self.Z[m], dim=0)  # attention over context positions (self-masked)
            v = X.T @ b
            if self.cfg.model.residual:
                v = v + torch.nn.functional.one_hot(torch.tensor(m), M).double()
            f = v / v.norm() if self.cfg.model.normalize else v
            logits = self.Y.T @ f
            losses.append(torch.logsumexp(logits, 0) - logits[int(L.next_token[n])])
        return torch.stack(losses).mean()

    def step(self, classes, counts) -> float:
        for o in self.opt:
            o.zero_grad()
        loss = self.loss(classes, counts)
        loss.backward()
        for o in self.opt:
            o.step()
        return float(loss.detach())

"""Tidy results of a run: pandas tables, the measured snapping step, export to disk.

Tables (one row per observation, THEORY §7 conventions):

* ``metrics``: one row per step t = 0..N.  Row t describes iteration t: ``loss`` of its
  training batch (evaluated before the update; NaN at t = 0), ``dz_norm`` = ‖Z_t − Z_{t−1}‖_F,
  and, at recorded steps, the population ``entropy_distinct`` (Fig. 6 metric) and
  ``population_loss`` of the state after the update.
* ``attention``: one row per (recorded step, class, support token): P(l|n), c_n (Eqn 5),
  the logit z_{ψ(n),l}, and for distinct tokens the growth factor χ_l = e^{2(z(t)−z(0))} (Thm 3).
* ``decoder``: one row per (recorded step, class): logit o_n and probability α_n of the
  correct next token under the population f_n.
"""

from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .config import RunConfig
from .engine import Engine, Record
from .layout import Layout
from .theory import predictions_for

__all__ = ["SNAP_WINDOW", "snapping_step", "RunData", "RunResult", "train", "cli_command", "frames",
           "frames_from_data"]

#: width (steps) of the centred moving average applied to ‖ΔZ‖ before locating its peak
SNAP_WINDOW = 9


def smoothed(values: np.ndarray, window: int = SNAP_WINDOW) -> np.ndarray:
    """Centred moving average along axis 0 that averages only the values present near the ends."""
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))  # np.convolve(mode="same") returns the longer input's length
    kernel = np.ones(window)
    flat = values.reshape(len(values), -1)
    num = np.stack([np.convolve(np.nan_to_num(col), kernel, mode="same") for col in flat.T], axis=1)
    den = np.convolve(np.ones(len(values)), kernel, mode="same")[:, None]
    return (num / den).reshape(values.shape)


def snapping_step(dz_norms: np.ndarray, window: int = SNAP_WINDOW) -> np.ndarray:
    """Measured snapping step: where the smoothed attention-logit speed ‖ΔZ‖ peaks.

    ``dz_norms`` [t] or [t, R] holds steps 1..t.  The peak marks the end of scanning: after
    it Z moves ever more slowly (§6).  Returns the step (1-based) per run, NaN where the
    speed is still rising at the last step (no peak yet) or the run never moved."""
    dz = np.asarray(dz_norms, dtype=float)
    single = dz.ndim == 1
    dz = dz.reshape(len(dz), -1)
    finite = np.isfinite(dz).all(axis=0)  # a diverged run has no meaningful peak
    if len(dz) == 0:
        out = np.full(dz.shape[1], np.nan)
    else:
        smooth = smoothed(dz, window)
        peak = smooth.argmax(axis=0)
        still_rising = peak >= len(dz) - 1 - window // 2
        flat = ~(smooth.max(axis=0) > 0) | ~np.isfinite(smooth).all(axis=0)
        out = np.where(still_rising | flat | ~finite, np.nan, peak + 1.0)
    return out[0] if single else out


@dataclass(frozen=True)
class RunData:
    """What the figures read: a run's config, layout, recorded metrics and per-step scalars.

    ``losses`` and ``dz_norms`` hold steps 1..t; ``records`` are the recorded states
    (see :class:`~scansnap_core.engine.Record`, run axis first); ``run`` selects the run."""

    config: RunConfig
    layout: Layout
    records: Sequence[Record]
    losses: np.ndarray
    dz_norms: np.ndarray
    snap_step: float | None = None
    run: int = 0

    @classmethod
    def from_engine(cls, engine: Engine, run: int = 0) -> "RunData":
        return cls.build(engine.configs[run], engine.layout, engine.records, engine.losses[:, run],
                         engine.dz_norms[:, run], run)

    @classmethod
    def build(cls, config: RunConfig, layout: Layout, records: Sequence[Record], losses: np.ndarray,
              dz_norms: np.ndarray, run: int = 0) -> "RunData":
        """A RunData with the measured snapping step filled in (None until ‖ΔZ‖ has peaked)."""
        snap = snapping_step(dz_norms) if len(dz_norms) else math.nan
        return cls(config, layout, tuple(records), np.asarray(losses), np.asarray(dz_norms),
                   None if math.isnan(snap) else float(snap), run)

    def upto(self, step: int) -> "RunData":
        """The same run seen at ``step`` (for replay): records and scalars up to that step."""
        records = tuple(r for r in self.records if r.step <= step) or self.records[:1]
        return RunData(self.config, self.layout, records, self.losses[:step], self.dz_norms[:step],
                       self.snap_step if self.snap_step is not None and self.snap_step <= step else None, self.run)

    @property
    def latest(self) -> Record:
        return self.records[-1]

    @property
    def steps(self) -> np.ndarray:
        return np.array([r.step for r in self.records])


@dataclass(frozen=True)
class GrowthFactor:
    """Measured growth factor χ(t) = e^{2(z(t)−z(0))} of one class's dominant distinct token (the
    largest P(l|n); THEORY §6, Theorem 3), with the f²(0) its lower bound needs."""

    steps: np.ndarray
    chi: np.ndarray
    f0_squared: float
    token: int

    @classmethod
    def of(cls, data: "RunData", n: int = 0) -> "GrowthFactor | None":
        """None when class ``n`` has no distinct token."""
        layout = data.layout
        distinct = np.flatnonzero(layout.support_distinct[n])
        if not len(distinct):
            return None
        s = distinct[np.argmax(layout.support_prob[n, distinct])]
        z = np.array([r.logits[data.run][n, s] for r in data.records])
        f0 = data.records[0].attention[data.run][n]
        return cls(np.asarray(data.steps), np.exp(2 * (z - z[0])), float((f0[s] / np.linalg.norm(f0)) ** 2),
                   int(layout.support[n, s]))


def frames(engine: Engine, run: int = 0) -> dict[str, pd.DataFrame]:
    """The tidy tables of one run of an engine (see the module docstring)."""
    return frames_from_data(RunData.from_engine(engine, run))


def frames_from_data(data: RunData) -> dict[str, pd.DataFrame]:
    """The tidy tables of a :class:`RunData` (see the module docstring)."""
    layout, run = data.layout, data.run
    n = len(data.losses)
    loss = np.full(n + 1, np.nan)
    dz = np.full(n + 1, np.nan)
    loss[1:] = data.losses
    dz[1:] = data.dz_norms
    metrics = pd.DataFrame({"step": np.arange(n + 1), "loss": loss, "dz_norm": dz})
    records = data.records
    rec_steps = data.steps
    per_record = pd.DataFrame({
        "step": rec_steps,
        "entropy_distinct": [float(r.entropy_distinct[run]) for r in records],
        "population_loss": [float(r.loss[run]) for r in records],
    })
    metrics = metrics.merge(per_record, on="step", how="left")

    K = layout.K
    valid = layout.support_prob > 0  # [K, S]
    cls, slot = np.nonzero(valid)
    tokens = layout.support[cls, slot]
    att = np.stack([r.attention[run] for r in records])[:, cls, slot]  # [records, rows]
    logit = np.stack([r.logits[run] for r in records])[:, cls, slot]
    chi = np.where(layout.support_distinct[cls, slot], np.exp(2.0 * (logit - logit[:1])), np.nan)
    nrec = len(records)
    attention = pd.DataFrame({
        "step": np.repeat(rec_steps, len(cls)),
        "class": np.tile(cls, nrec),
        "query": np.tile(layout.psi[cls], nrec),
        "token": np.tile(tokens, nrec),
        "kind": pd.Categorical(np.tile(layout.token_kind[tokens], nrec), categories=["common", "distinct"]),
        "prob": np.tile(layout.support_prob[cls, slot], nrec),
        "attention": att.ravel(),
        "logit": logit.ravel(),
        "chi": chi.ravel(),
    })
    decoder = pd.DataFrame({
        "step": np.repeat(rec_steps, K),
        "class": np.tile(np.arange(K), nrec),
        "next_token": np.tile(layout.next_token, nrec),
        "correct_logit": np.stack([r.correct_logit[run] for r in records]).ravel(),
        "correct_prob": np.stack([r.correct_prob[run] for r in records]).ravel(),
    })
    return {"metrics": metrics, "attention": attention, "decoder": decoder}


def cli_command(cfg: RunConfig, out: str = "run") -> str:
    """The exact ``python -m scansnap_core run`` command that reproduces ``cfg``."""
    args = ["python", "-m", "scansnap_core", "run", "--config-token", cfg.to_token(), "--out", out]
    return shlex.join(args)


@dataclass
class RunResult:
    """A finished (or stopped) run: its config, tables and summary."""

    config: RunConfig
    tables: dict[str, pd.DataFrame]
    summary: dict

    @classmethod
    def from_engine(cls, engine: Engine, run: int = 0) -> "RunResult":
        cfg = engine.configs[run]
        tables = frames(engine, run)
        return cls(cfg, tables, summarize(RunData.from_engine(engine, run)))

    @property
    def metrics(self) -> pd.DataFrame:
        return self.tables["metrics"]

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write config.json, summary.json and every table as Parquet and CSV."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "config.json", out / "summary.json"]
        written[0].write_text(self.config.to_json())
        written[1].write_text(json.dumps(self.summary, indent=2))
        for name, df in self.tables.items():
            for path, write in ((out / f"{name}.parquet", df.to_parquet), (out / f"{name}.csv", df.to_csv)):
                write(path, index=False)
                written.append(path)
        return written

    def summary_text(self) -> str:
        s = self.summary
        snap = "not reached yet" if s["snap_step"] is None else f"step {s['snap_step']}"
        rate = " (η/(1−μ) momentum-corrected rates)" if s["momentum_corrected"] else ""
        status = f" Diverged at step {s['diverged_at']}." if s["diverged_at"] is not None else ""
        return (
            f"{s['steps']} steps with {s['layout']} (M = {s['M']}, K = {s['K']}, η_Y = {s['eta_y']:g}, "
            f"η_Z = {s['eta_z']:g}): final training loss {s['final_loss']:.4g}, distinct-token entropy "
            f"{s['entropy_distinct']:.4f} nats (uniform would be {s['entropy_uniform']:.4f}). "
            f"Measured snapping step (peak of smoothed ‖ΔZ‖): {snap}; theory predicts scanning until "
            f"t0′ = {s['t0_prime']:.1f} and snapping from t0 = {s['t0']:.1f} steps{rate}.{status}"
        )


def summarize(data: RunData) -> dict:
    """Headline numbers of a run (final loss and entropy, measured vs predicted snapping step)."""
    cfg, layout = data.config, data.layout
    t = cfg.train
    pred = predictions_for(cfg)
    losses = np.asarray(data.losses, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(losses) & np.isfinite(np.asarray(data.dz_norms, dtype=float))))
    n_distinct = layout.support_distinct.sum(axis=1)
    return {
        "layout": f"{layout.Q} query token(s) × {cfg.data.next_per_query} next token(s)",
        "steps": len(losses),
        "M": layout.M,
        "K": layout.K,
        "eta_y": t.eta_y,
        "eta_z": t.eta_z,
        "final_loss": float(losses[-1]) if len(losses) else math.nan,
        "entropy_distinct": float(data.latest.entropy_distinct[data.run]),
        "entropy_uniform": float(np.mean(np.log(n_distinct[n_distinct > 0]))) if (n_distinct > 0).any() else math.nan,
        "snap_step": None if data.snap_step is None else int(data.snap_step),
        "t0_prime": pred.t0_prime,
        "t0": pred.t0,
        "t0_approx": pred.t0_approx,
        "momentum_corrected": pred.momentum_corrected,
        "diverged_at": int(bad[0]) + 1 if len(bad) else None,
    }


#: records kept by :func:`train` (older ones are thinned evenly; per-step loss and ‖ΔZ‖ are all kept)
TRAIN_MAX_RECORDS = 5000


def train(cfg: RunConfig, progress: Callable[[int, int], None] | None = None, chunk: int = 10) -> RunResult:
    """Train one run to ``cfg.train.steps`` (stopping early if it diverges) and return its result."""
    engine = Engine(cfg, max_records=TRAIN_MAX_RECORDS)
    total = cfg.train.steps
    while engine.step_count < total and engine.diverged_at[0] < 0:
        engine.step(min(chunk, total - engine.step_count))
        if progress:
            progress(engine.step_count, total)
    engine.ensure_final_record()
    return RunResult.from_engine(engine)

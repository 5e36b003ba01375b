"""Tidy results of a run: pandas tables, the measured events in words, the summary, export to disk.

Tables (one row per observation, docs/THEORY.md §7 conventions):

* ``metrics``: one row per step t = 0..N.  Row t describes iteration t: ``loss`` of its
  training batch (evaluated before the update; NaN at t = 0), ``dz_norm`` = ‖Z_t − Z_{t−1}‖_F,
  ``dz_smoothed`` (its centred 9-step mean, NaN where the window does not fit),
  ``attended_changed`` (the step changed a class's attended distinct tokens), ``event`` ("scan
  peak" / "snap" on those two rows; docs/THEORY.md, "Measured events"), and, at recorded steps,
  the population ``entropy_distinct`` (Fig. 6 metric) and ``population_loss`` of the state after
  the update.
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
from functools import cached_property
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .config import RunConfig
from .engine import Engine, Record
from .events import ATTENDED_MARGIN, SNAP_FRACTION, SNAP_HOLD, SPEED_WINDOW, Events, attended_mask, detect_events, \
    smoothed_speed
from .layout import Layout
from .presets import PRESETS, preset
from .theory import assumption_gaps, assumption_note, phase_relation, predictions_for

__all__ = ["RunData", "RunResult", "token_ranges", "GrowthFactor", "Composition", "attended_distinct", "composition_at_snap", "train", "cli_command", "cli_token_command",
           "frames", "frames_from_data", "summarize", "describe_events", "event_notes"]

@dataclass(frozen=True)
class RunData:
    """What the figures read: a run's config, layout, recorded metrics and per-step scalars.

    ``losses``, ``dz_norms`` and ``attended_changed`` hold steps 1..t; ``records`` are the recorded
    states (see :class:`~scansnap_core.scan_snap.engine.Record`, run axis first); ``run`` selects the run;
    ``events`` are the scan peak and snap measured on steps 1..t (:mod:`scansnap_core.scan_snap.events`)."""

    config: RunConfig
    layout: Layout
    records: Sequence[Record]
    losses: np.ndarray
    dz_norms: np.ndarray
    attended_changed: np.ndarray
    run: int = 0

    @cached_property
    def events(self) -> Events:
        """Measured on first use: a live snapshot that is only drawn as a progress bar never pays for it."""
        return detect_events(self.dz_norms, self.attended_changed)

    @classmethod
    def from_engine(cls, engine: Engine, run: int = 0) -> "RunData":
        return cls.build(engine.configs[run], engine.layout, engine.records, engine.losses[:, run],
                         engine.dz_norms[:, run], engine.attended_changed[:, run], run)

    @classmethod
    def build(cls, config: RunConfig, layout: Layout, records: Sequence[Record], losses: np.ndarray,
              dz_norms: np.ndarray, attended_changed: np.ndarray, run: int = 0) -> "RunData":
        """A RunData with its events measured on the data given (nothing later is known)."""
        dz, changed = np.asarray(dz_norms), np.asarray(attended_changed, dtype=bool)
        return cls(config, layout, tuple(records), np.asarray(losses), dz, changed, run)

    def upto(self, step: int) -> "RunData":
        """The same run seen at ``step`` (for replay): records and scalars up to that step, and the
        events a live run could have detected by then."""
        records = tuple(r for r in self.records if r.step <= step) or self.records[:1]
        return RunData.build(self.config, self.layout, records, self.losses[:step], self.dz_norms[:step],
                             self.attended_changed[:step], self.run)

    @property
    def scan_peak_step(self) -> int | None:
        return self.events.scan_peak_step

    @property
    def snap_step(self) -> int | None:
        return self.events.snap_step

    @property
    def latest(self) -> Record:
        return self.records[-1]

    @property
    def steps(self) -> np.ndarray:
        return np.array([r.step for r in self.records])

    @property
    def common_logit_change(self) -> float | None:
        """How far the common tokens' attention logits moved since the first record, z(t) − z(0) averaged
        over every class's common tokens (the theory has them fall: docs/THEORY.md §5); None without
        common tokens."""
        common = ~self.layout.support_distinct & (self.layout.support_prob > 0)
        if not common.any():
            return None
        first, last = self.records[0].logits[self.run], self.latest.logits[self.run]
        return float((last - first)[common].mean())


def attended_distinct(data: RunData, record: Record, margin: float = ATTENDED_MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """(attended [K, S] bool, share [K, S]) of one record: ``share`` is c restricted to each class's
    distinct tokens and renormalised (0 elsewhere); attended by :func:`~scansnap_core.scan_snap.events.attended_mask`."""
    distinct = data.layout.support_distinct
    att = np.where(distinct, record.attention[data.run], 0.0).astype(float)
    mass = att.sum(axis=1, keepdims=True)
    share = np.divide(att, mass, out=np.zeros_like(att), where=mass > 0)
    return attended_mask(share, distinct, margin), share


@dataclass(frozen=True)
class Composition:
    """The attended distinct tokens (ids) of every class at one recorded step."""

    step: int
    tokens: tuple[tuple[int, ...], ...]

    @classmethod
    def of(cls, data: RunData, record: Record) -> "Composition":
        attended, _ = attended_distinct(data, record)
        support = data.layout.support
        return cls(record.step, tuple(tuple(int(t) for t in support[n][attended[n]]) for n in range(len(support))))

    def as_dict(self) -> dict[str, list[int]]:
        return {f"class {n + 1}": list(tokens) for n, tokens in enumerate(self.tokens)}

    def describe(self, max_classes: int = 4) -> str:
        """"class 1: tokens 15–19; class 2: 25–29; …" (runs of consecutive ids joined)."""
        shown = [f"class {n + 1}: {token_ranges(tokens) or 'none'}" for n, tokens in enumerate(self.tokens[:max_classes])]
        more = f"; … ({len(self.tokens)} classes)" if len(self.tokens) > max_classes else ""
        return "; ".join(shown) + more


def token_ranges(tokens: Sequence[int]) -> str:
    """"15–19, 23" for (15, 16, 17, 18, 19, 23)."""
    out, start = [], None
    for i, t in enumerate(tokens):
        start = t if start is None else start
        if i + 1 == len(tokens) or tokens[i + 1] != t + 1:
            out.append(str(t) if t == start else f"{start}–{t}")
            start = None
    return ", ".join(out)


def composition_at_snap(data: RunData) -> Composition | None:
    """The attended distinct tokens at the snap, read from the first record at or after ``snap_step``
    (records may be thinned); None before a snap or without such a record."""
    if data.snap_step is None:
        return None
    record = next((r for r in data.records if r.step >= data.snap_step), None)
    return None if record is None else Composition.of(data, record)


@dataclass(frozen=True)
class GrowthFactor:
    """Measured growth factor χ(t) = e^{2(z(t)−z(0))} of one class's dominant distinct token (the
    largest P(l|n); docs/THEORY.md §6, Theorem 3), with the f²(0) its lower bound needs."""

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
    changed = np.zeros(n + 1, dtype=bool)
    changed[1:] = data.attended_changed
    event = np.full(n + 1, None, dtype=object)
    for name, step in (("scan peak", data.scan_peak_step), ("snap", data.snap_step)):
        if step is not None:
            event[step] = name
    metrics = pd.DataFrame({"step": np.arange(n + 1), "loss": loss, "dz_norm": dz,
                            "dz_smoothed": np.r_[np.nan, smoothed_speed(data.dz_norms)],
                            "attended_changed": changed,
                            "event": pd.Categorical(event, categories=["scan peak", "snap"])})
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
    """A readable ``python -m scansnap_core run`` command that reproduces ``cfg`` exactly: the closest preset
    and a flag per field that differs from it (``--rate-change`` for each learning-rate change).  Explicit
    distinct-token weights have no flag: then the command reads ``config.json`` (the figure pack has it)."""
    if cfg.data.distinct_weights is not None:
        return shlex.join(["python", "-m", "scansnap_core", "run", "--config", "config.json", "--out", out])
    flat = cfg.flat()

    def differing(name: str) -> dict:
        base = preset(name).flat()
        return {k: v for k, v in flat.items() if v != base[k]}

    name = min(PRESETS, key=lambda n: len(differing(n)))  # the first of the closest (dicts keep their order)
    args = ["python", "-m", "scansnap_core", "run", "--preset", name]
    for field, value in differing(name).items():
        if field == "rate_changes":
            args += [a for step, eta_y, eta_z in value for a in ("--rate-change", f"{step}:{eta_y:g}:{eta_z:g}")]
        elif isinstance(value, bool):
            args.append(("--" if value else "--no-") + field.replace("_", "-"))
        else:
            args += ["--" + field.replace("_", "-"), repr(value) if isinstance(value, float) else str(value)]
    return shlex.join(args + ["--out", out])


def cli_token_command(cfg: RunConfig, out: str = "run") -> str:
    """The same run as :func:`cli_command`, as one compact token (RunConfig.to_token)."""
    return shlex.join(["python", "-m", "scansnap_core", "run", "--config-token", cfg.to_token(), "--out", out])


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
        status = f" Diverged at step {s['diverged_at']}." if s["diverged_at"] is not None else ""
        return (
            f"{s['steps']} steps with {s['layout']} (M = {s['M']}, K = {s['K']}, η_Y = {s['eta_y']:g}, "
            f"η_Z = {s['eta_z']:g}): final training loss {s['final_loss']:.4g}, distinct-token entropy "
            f"{s['entropy_distinct']:.4f} nats (uniform would be {s['entropy_uniform']:.4f}). "
            f"{s['events']}{status}"
        )


def event_notes(data: RunData) -> tuple[str, str, str]:
    """Plain-language notes on a run's measured events: (what the events are so far, each compared
    with the SGD theory's t0′ and t0 by the numbers alone; the theory's times; where the run leaves
    the theory's assumptions, "" if nowhere).  docs/THEORY.md, "Measured events"."""
    ev, pred = data.events, predictions_for(data.config)
    window = f"{SPEED_WINDOW}-step mean of ‖ΔZ‖"
    fraction = f"{SNAP_FRACTION:.0%}"
    if ev.fastest_step is None:
        dz = np.asarray(data.dz_norms, dtype=float)
        moved = np.flatnonzero(dz > 0)
        if not np.isfinite(dz).all():
            parts = ["No scan peak or snap: the run diverged."]
        elif not len(moved):
            parts = ["The attention has not moved yet (under zero init Z moves only once the decoder has learned)."]
        else:
            parts = [f"No events yet: the first full {window} since Z first moved (step {moved[0] + 1}) "
                     f"needs step {moved[0] + SPEED_WINDOW}."]
    elif ev.rising:
        parts = [f"Scanning: the {window} is still rising (no scan peak yet)."]
    else:
        parts = [f"Scan peak (fastest attention, {window}) at step {ev.scan_peak_step}, "
                 f"{phase_relation(ev.scan_peak_step, pred)}." if ev.scan_peak_step is not None else
                 f"No scan peak: the {window} was highest in its first window."]
        if ev.snap_step is not None:
            parts.append(f"Snapped at step {ev.snap_step}, {phase_relation(ev.snap_step, pred)}: from then on the "
                         f"{window} stayed below {fraction} of its peak and the attended distinct tokens did not "
                         f"change (checked for {ev.steps - ev.snap_step} further steps).")
        elif ev.slow_since is None:
            parts.append(f"Not snapped by step {ev.steps}: the {window} is at {ev.speed_now / ev.peak_speed:.0%} of "
                         f"its peak (a snap needs below {fraction}).")
        else:
            c = ev.candidate
            since = (f"‖ΔZ‖ below {fraction} of its peak since step {ev.slow_since}, attended tokens last changed "
                     f"at step {ev.attended_since}" if ev.attended_since > ev.slow_since else
                     f"‖ΔZ‖ below {fraction} of its peak and the attended tokens unchanged since step {c}")
            drift = (f"steps {ev.steps // 2 + 1}–{ev.steps} carried {ev.late_path_share:.0%} of the logits' path "
                     f"so far")
            if SNAP_HOLD * c > ev.steps:
                parts.append(f"Not snapped by step {ev.steps}: {since}; that counts as a snap if both stay so and the "
                             f"logits stay nearly still until step {SNAP_HOLD * c} ({drift}).")
            else:
                parts.append(f"Not snapped by step {ev.steps}: {since}, but the logits still drift: {drift} "
                             f"(a snap at step s needs at most {fraction} in steps s+1..{SNAP_HOLD}s).")
    theory = f"SGD theory: t0′ = {pred.t0_prime:.1f}, t0 = {pred.t0:.1f}."
    return " ".join(parts), theory, assumption_note(data.config)


def describe_events(data: RunData) -> str:
    """:func:`event_notes` as one paragraph (the CLI summary line, summary.json)."""
    return " ".join(note for note in event_notes(data) if note)


def summarize(data: RunData) -> dict:
    """Headline numbers of a run: final loss and entropy, the measured events (docs/THEORY.md,
    "Measured events"), the attended distinct tokens at the snap and at the end, the SGD theory's
    phase times and where the run leaves the theory's assumptions."""
    cfg, layout, ev = data.config, data.layout, data.events
    t = cfg.train
    pred = predictions_for(cfg)
    losses = np.asarray(data.losses, dtype=float)
    bad = np.flatnonzero(~(np.isfinite(losses) & np.isfinite(np.asarray(data.dz_norms, dtype=float))))
    n_distinct = layout.support_distinct.sum(axis=1)
    at_snap, final = composition_at_snap(data), Composition.of(data, data.latest)
    return {
        "layout": f"{layout.Q} query token(s) × {cfg.data.next_per_query} next token(s)",
        "steps": len(losses),
        "M": layout.M,
        "K": layout.K,
        "eta_y": t.eta_y,
        "eta_z": t.eta_z,
        "optimizer": t.optimizer,
        "mode": t.mode,
        "final_loss": float(losses[-1]) if len(losses) else math.nan,
        "entropy_distinct": float(data.latest.entropy_distinct[data.run]),
        "entropy_uniform": float(np.mean(np.log(n_distinct[n_distinct > 0]))) if (n_distinct > 0).any() else math.nan,
        "scan_peak_step": ev.scan_peak_step,
        "snap_step": ev.snap_step,
        "scan_peak_vs_theory": None if ev.scan_peak_step is None else phase_relation(ev.scan_peak_step, pred),
        "snap_vs_theory": None if ev.snap_step is None else phase_relation(ev.snap_step, pred),
        "event_rules": {"speed_window": SPEED_WINDOW, "snap_fraction": SNAP_FRACTION, "snap_hold": SNAP_HOLD,
                        "attended_margin": ATTENDED_MARGIN},
        "attended_since": ev.attended_since,
        "snap_attended": None if at_snap is None else at_snap.as_dict(),
        "final_attended": final.as_dict(),
        "final_attended_step": final.step,
        "snap_attended_is_final": None if at_snap is None else at_snap.tokens == final.tokens,
        "theory": "SGD (docs/THEORY.md §4–§6)",
        "t0_prime": pred.t0_prime,
        "t0": pred.t0,
        "t0_approx": pred.t0_approx,
        "momentum_corrected": pred.momentum_corrected,
        "assumption_gaps": list(assumption_gaps(cfg)),
        "events": describe_events(data),
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

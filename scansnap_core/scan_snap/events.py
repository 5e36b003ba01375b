"""The two measured events of a run, the scan peak and the snap (docs/THEORY.md, "Measured events").

Both are read off the attention-logit speed ‖ΔZ‖ = ‖Z_t − Z_{t−1}‖_F, smoothed by a centred
moving average of :data:`SPEED_WINDOW` steps that is defined only where the whole window fits
(no shortened averages at the ends, which would pull a peak towards the edges):

* ``scan_peak_step``: the step of fastest attention movement, the maximum of the smoothed
  speed.  ``None`` unless the maximum is interior: at the first window (the speed only falls,
  e.g. Adam) or the last (it still rises) there is no peak to report.
* ``snap_step``: the first step s after the fastest window such that (1) from s on the smoothed
  speed stays below :data:`SNAP_FRACTION` of its maximum, (2) from s on the attended distinct
  tokens (:func:`attended_mask`) do not change, and (3) over steps s+1..2s the logits travel
  at most :data:`SNAP_FRACTION` of the path Σ‖ΔZ‖ they travelled in steps 1..2s.  (3) needs the
  run to reach :data:`SNAP_HOLD` × s = 2s, so the evidence for "frozen" spans as many steps as it
  took to get there, and it keeps a slow logarithmic drift (the theory's T → ∞ snapping regime)
  from passing as frozen.  ``None`` until all three hold ("not snapped yet").

A diverged run (a non-finite ‖ΔZ‖) and a run whose attention never moved have neither.
Everything here is vectorised over runs (a sweep detects the events of all its runs at once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SPEED_WINDOW", "SNAP_FRACTION", "SNAP_HOLD", "ATTENDED_MARGIN", "Events", "smoothed_speed", "snap_detected",
           "detect_events", "detect_events_batch", "attended_mask", "attended_threshold"]

#: width (steps, odd) of the centred moving average of ‖ΔZ‖: long enough to average out minibatch noise
#: (a single-step spike moves it by a ninth), short enough to resolve Syn-Small's peak near step 10
SPEED_WINDOW = 9
#: the snap needs the smoothed speed below this fraction of its maximum, and at most this fraction of the
#: path travelled by step 2s to come after s.  5 %, not 10 %: at 10 % Adam (η = 0.5) "snapped" with its
#: distinct-token entropy still 19 % of its net change away from the final value (5 %: 10 %, at step 35)
SNAP_FRACTION = 0.05
#: the path condition looks at steps s+1..SNAP_HOLD × s (held as long again as it took to get there)
SNAP_HOLD = 2
#: a distinct token counts as attended above (1 + margin) × the uniform share of its class's
#: distinct-token attention (the margin keeps near-uniform noise out of the sets)
ATTENDED_MARGIN = 0.1


def attended_threshold(distinct: np.ndarray, margin: float = ATTENDED_MARGIN) -> np.ndarray:
    """[K, 1]: the share above which a distinct token of class n is attended, (1 + margin) / |G_DT(n)|
    (inf for a class without distinct tokens).  ``distinct`` [K, S] marks each class's distinct tokens."""
    count = distinct.sum(axis=-1, keepdims=True)
    return np.divide(1.0 + margin, count, out=np.full(count.shape, np.inf), where=count > 0)


def attended_mask(share: np.ndarray, distinct: np.ndarray, margin: float = ATTENDED_MARGIN) -> np.ndarray:
    """Which distinct tokens are attended: ``share`` [..., K, S] is each class's attention restricted
    to its distinct tokens and renormalised (0 elsewhere).  True where share > (1 + margin) / |G_DT(n)|."""
    return distinct & (np.asarray(share) > attended_threshold(distinct, margin))


def smoothed_speed(dz_norms: np.ndarray, window: int = SPEED_WINDOW) -> np.ndarray:
    """The windows the events use, along axis 0 (steps 1..t): the centred moving average, NaN where
    the window does not fit inside the steps from the first one that moved to the last."""
    dz = np.asarray(dz_norms, dtype=float)
    out = np.full(dz.shape, np.nan)
    half = window // 2
    if len(dz) >= window:
        csum = np.cumsum(np.concatenate([np.zeros((1, *dz.shape[1:])), dz]), axis=0)
        out[half:len(dz) - half] = (csum[window:] - csum[:-window]) / window
        start = np.argmax(dz > 0, axis=0)  # windows start at the first step that moved (see detect_events)
        out[np.arange(len(dz)).reshape(-1, *([1] * (dz.ndim - 1))) < start + half] = np.nan
    return out


@dataclass(frozen=True)
class Events:
    """Measured events of one run after ``steps`` steps (see the module docstring).  Besides the two
    events it keeps what a caption needs to say why a run has not snapped yet."""

    steps: int
    scan_peak_step: int | None
    snap_step: int | None
    fastest_step: int | None  # step of the fastest window, an edge one included; None without movement
    peak_speed: float  # the smoothed speed there (NaN without movement)
    speed_now: float  # the latest smoothed speed (NaN before the first full window)
    slow_since: int | None  # first step from which the smoothed speed stayed below the snap fraction
    attended_since: int  # the attended distinct tokens are unchanged since this step (0: since the start)
    late_path_share: float  # share of the path Σ‖ΔZ‖ of steps 1..t travelled in the second half, t//2+1..t

    @property
    def rising(self) -> bool:
        """Whether the smoothed speed is highest in the last full window (still speeding up)."""
        return self.fastest_step is not None and self.fastest_step >= self.steps - SPEED_WINDOW // 2

    @property
    def candidate(self) -> int | None:
        """The first step that meets conditions (1) and (2) of the snap, whatever (3) says."""
        return None if self.slow_since is None else max(self.slow_since, self.attended_since)


def _step_or_none(value: float) -> int | None:
    return None if math.isnan(value) else int(value)


def detect_events(dz_norms: np.ndarray, attended_changed: np.ndarray | None = None) -> Events:
    """Events of one run: ``dz_norms`` [t] holds ‖ΔZ‖ of steps 1..t, ``attended_changed`` [t] (optional)
    marks the steps at which the attended distinct tokens changed."""
    dz = np.asarray(dz_norms, dtype=float).reshape(-1, 1)
    changed = None if attended_changed is None else np.asarray(attended_changed, dtype=bool).reshape(-1, 1)
    b = detect_events_batch(dz, changed)
    return Events(len(dz), *(_step_or_none(b[k][0]) for k in ("scan_peak_step", "snap_step", "fastest_step")),
                  float(b["peak_speed"][0]), float(b["speed_now"][0]), _step_or_none(b["slow_since"][0]),
                  int(b["attended_since"][0]), float(b["late_path_share"][0]))


def detect_events_batch(dz_norms: np.ndarray, attended_changed: np.ndarray | None = None,
                        window: int = SPEED_WINDOW, fraction: float = SNAP_FRACTION,
                        hold: int = SNAP_HOLD) -> dict[str, np.ndarray]:
    """Events of R runs at once: ``dz_norms`` and ``attended_changed`` are [t, R].  Returns arrays [R]
    (float, NaN for "none") named like the fields of :class:`Events`."""
    dz = np.asarray(dz_norms, dtype=float)
    n, R = dz.shape
    out = {k: np.full(R, np.nan) for k in ("scan_peak_step", "snap_step", "fastest_step", "peak_speed",
                                            "speed_now", "slow_since", "late_path_share")}
    out["attended_since"] = np.zeros(R)
    if n == 0:
        return out
    changed = np.zeros((n, R), bool) if attended_changed is None else np.asarray(attended_changed, bool)
    last_change = np.where(changed.any(axis=0), n - np.argmax(changed[::-1], axis=0), 0)
    out["attended_since"] = last_change.astype(float)
    path = np.concatenate([np.zeros((1, R)), np.cumsum(np.where(np.isfinite(dz), dz, 0.0), axis=0)])  # steps 1..k
    if n >= 2:
        out["late_path_share"] = _share_after(path, np.array([n // 2]), hold=n / (n // 2))[0]
    half = window // 2
    if n < window:
        return out
    # window row j is centred on step j + half + 1.  Z cannot move before the decoder has learned (its
    # gradient is ∝ Y, 0 under zero init): a run's windows start at its first step that moved, so
    # leading zeros cannot fake a rise
    smooth = (path[window:] - path[:-window]) / window  # [n − window + 1, R]
    start = np.argmax(dz > 0, axis=0)  # the first window row of each run
    last = len(smooth) - 1
    moved = np.isfinite(dz).all(axis=0) & (dz > 0).any(axis=0) & (start <= last)
    filled = np.where(np.arange(len(smooth))[:, None] >= start, smooth, -np.inf)
    peak = filled.argmax(axis=0)
    peak_speed = filled.max(axis=0)
    to_step = half + 1  # row -> step
    out["speed_now"] = np.where(moved, smooth[last], np.nan)
    out["fastest_step"] = np.where(moved, peak + to_step, np.nan)
    out["peak_speed"] = np.where(moved, peak_speed, np.nan)
    out["scan_peak_step"] = np.where(moved & (peak > start) & (peak < last), peak + to_step, np.nan)
    above = filled >= fraction * peak_speed
    last_above = last - np.argmax(above[::-1], axis=0)  # the peak itself is above, so one exists
    slow = moved & (last_above < last)  # a later window is below (never while the speed still rises)
    slow_since = last_above + to_step + 1  # the step after the last window at or above the threshold
    out["slow_since"] = np.where(slow, slow_since, np.nan)
    candidate = np.maximum(slow_since, last_change)
    if slow.any():
        # condition 3 for the steps s >= the earliest candidate whose window s+1..hold·s lies inside the data
        s = np.arange(candidate[slow].min(), int(n // hold) + 1)
        settled = (_share_after(path, s, hold) <= fraction) & (s[:, None] >= candidate)  # [len(s), R]
        found = slow & settled.any(axis=0)
        out["snap_step"] = np.where(found, s[settled.argmax(axis=0)] if len(s) else 0, np.nan)
    return out


def _share_after(path: np.ndarray, s: np.ndarray, hold: float) -> np.ndarray:
    """[len(s), R]: the share of the path travelled by step hold·s that came in steps s+1..hold·s."""
    end = path[np.minimum(np.round(hold * s).astype(int), len(path) - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(end > 0, (end - path[s]) / end, 1.0)


#: how many times a run checks for its snap while it trains (snap_detected): at most a 1/SNAP_CHECKS late pause
SNAP_CHECKS = 200


def snap_detected(engine) -> str | None:
    """For a lecture's auto-pause (Runner.pause_at's ``when``): says so once the first run of ``engine`` shows
    its snap, as a live run can detect it.  Checks at most about SNAP_CHECKS times per run, so that the checks
    cost O(steps) in all."""
    t = engine.step_count
    if t < 2 or t % max(1, engine.config.train.steps // SNAP_CHECKS):
        return None
    snap = detect_events(engine.dz_norms[:, 0], engine.attended_changed[:, 0]).snap_step
    return None if snap is None else f"the snap was detected, at step {snap}"


"""Closed-form theory of docs/THEORY.md §3–§6, vectorised over time with numpy.

Units.  The theory's time t counts batch-size-1 SGD steps with classes visited t/K times
each (§4).  A mean-reduced minibatch step is about one expected-gradient step, so for a
real run t ≈ number of optimizer steps (§6 "Units").  Heavy-ball momentum μ
raises the effective rate towards η/(1−μ): :func:`effective_rate` applies that
correction, and :func:`predicted_times` says which rate it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "omega1",
    "phase_stops",
    "solve_mh",
    "h",
    "h_star",
    "gamma",
    "Gamma",
    "B_exact",
    "B_paper",
    "B_early",
    "B_late",
    "common_logit",
    "chi_bounds",
    "t0_prime",
    "t0",
    "t0_approx",
    "effective_rate",
    "Predictions",
    "predicted_times",
    "predictions_for",
    "phase_relation",
    "assumption_gaps",
    "assumption_note",
]


def omega1(M: float) -> float:
    """ω₁ of Lemma 8: the root of M^ω = (1+ω)·(M−1)/M·ln M (0.455, 0.403, 0.320, 0.267 for
    M = 34, 100, 10³, 10⁴).  Bisection on ω·ln M − ln(1+ω) − ln((M−1)/M·ln M)."""
    target = math.log((M - 1) / M * math.log(M))
    if -target > 0:  # no positive root (tiny M): the correction δ′ is taken as 0
        return 0.0
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mid * math.log(M) - math.log1p(mid) - target > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def solve_mh(rhs: np.ndarray, M: float) -> np.ndarray:
    """Solve e^u + (M−1)u = rhs for u = M·h ≥ 0 (Eqn 45), elementwise, rhs ≥ 1.

    The left side is convex and increasing, so Newton from a point right of the root
    (u ≤ ln rhs and u ≤ (rhs−1)/(M−1) both hold at the root) converges monotonically."""
    rhs = np.asarray(rhs, dtype=float)
    u = np.minimum(np.log(rhs), (rhs - 1.0) / (M - 1.0))
    for _ in range(100):
        step = (np.exp(u) + (M - 1.0) * u - rhs) / (np.exp(u) + (M - 1.0))
        u = u - step
        if np.all(np.abs(step) <= 1e-13 * np.maximum(1.0, np.abs(u))):
            break
    return np.maximum(u, 0.0)


def h(s: np.ndarray, M: float, eta_y: float) -> np.ndarray:
    """h(s) of Lemma 6 after s visits of a class: e^{Mh} + (M−1)Mh = Mη_Y s + 1 (Eqn 45)."""
    return solve_mh(M * eta_y * np.asarray(s, dtype=float) + 1.0, M) / M


def h_star(visits: int, M: float, eta_y: float) -> np.ndarray:
    """Lemma 5 recursion h*(0) = 0, h*(s) = h*(s−1) + η_Y/(M−1+e^{M h*(s−1)}); returns s = 0..visits."""
    out = np.zeros(visits + 1)
    for s in range(1, visits + 1):  # a scalar recursion: inherently sequential
        out[s] = out[s - 1] + eta_y / (M - 1.0 + math.exp(M * out[s - 1]))
    return out


def gamma(t: np.ndarray, K: int, M: float, eta_y: float) -> np.ndarray:
    """Speed-control coefficient γ(t) = (M−1)²h/(M−1+e^{Mh}), h = h(t/K) (Theorem 1)."""
    u = solve_mh(M * eta_y * np.asarray(t, dtype=float) / K + 1.0, M)
    return (M - 1.0) ** 2 * (u / M) / (M - 1.0 + np.exp(u))


def Gamma(t: np.ndarray, K: int, M: float, eta_y: float, eta_z: float) -> np.ndarray:
    """Γ(t) = η_Z ∫₀ᵗ γ = η_Z K (M−1)² h²(t/K) / (2η_Y) (App. F, §6)."""
    hh = h(np.asarray(t, dtype=float) / K, M, eta_y)
    return eta_z * K * (M - 1.0) ** 2 * hh**2 / (2.0 * eta_y)


def B_exact(t, K, M, eta_y, eta_z, C0: float = 1.0) -> np.ndarray:
    """B_n(t) = ¼ ln(1 + 4Γ(t)/C0): the exact integral, B_n(0) = 0 (§6, §9 item 2)."""
    return 0.25 * np.log1p(4.0 * Gamma(t, K, M, eta_y, eta_z) / C0)


def B_paper(t, K, M, eta_y, eta_z, C0: float = 1.0) -> np.ndarray:
    """B_n(t) = ¼ ln(C0 + 2(η_Z/η_Y)K(M−1)²h²(t/K)), the paper's Eqn 129 (= B_exact + ¼ ln C0)."""
    return 0.25 * np.log(C0 + 4.0 * Gamma(t, K, M, eta_y, eta_z))


def B_early(t, K, M, eta_y, eta_z, C0: float = 1.0) -> np.ndarray:
    """First branch of Eqn 14 (valid for t < t0′): ¼ ln(C0 + 2(M−1)²/(KM²)·η_Yη_Z t²)."""
    t = np.asarray(t, dtype=float)
    return 0.25 * np.log(C0 + 2.0 * (M - 1.0) ** 2 / (K * M**2) * eta_y * eta_z * t**2)


def B_late(t, K, M, eta_y, eta_z, C0: float = 1.0) -> np.ndarray:
    """Second branch of Eqn 14 (valid for t ≥ t0): ¼ ln(C0 + 2K(M−1)²/M²·(η_Z/η_Y)·ln²(Mη_Y t/K)).
    NaN where Mη_Y t/K < 1 (the logarithm is outside its range)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        arg = M * eta_y * t / K
        lg = np.where(arg >= 1.0, np.log(np.where(arg > 0, arg, 1.0)), np.nan)
    return 0.25 * np.log(C0 + 2.0 * K * (M - 1.0) ** 2 / M**2 * (eta_z / eta_y) * lg**2)


def common_logit(t, K, M, eta_y, eta_z, C0: float = 1.0) -> np.ndarray:
    """Solution of Eqn 13 for the common token, z_ml(0) = 0: e^{−4z} = 1 + 4Γ(t)/C0."""
    return -0.25 * np.log1p(4.0 * Gamma(t, K, M, eta_y, eta_z) / C0)


def chi_bounds(B: np.ndarray, f0_squared: float) -> tuple[np.ndarray, np.ndarray]:
    """Theorem 3 bounds on the growth factor of the dominant distinct token:
    e^{2 f²(0) B} ≤ χ ≤ e^{2B}.  Returns (lower, upper)."""
    B = np.asarray(B, dtype=float)
    return np.exp(2.0 * f0_squared * B), np.exp(2.0 * B)


def t0_prime(K: int, M: float, eta_y: float) -> float:
    """End of the scanning regime t0′ = K ln M / η_Y (Theorem 1(b), Eqn 14)."""
    return K * math.log(M) / eta_y


def t0(K: int, M: float, eta_y: float) -> float:
    """Start of the snapping regime t0 = 2(1+δ′)K ln M / η_Y with δ′ = ω₁ (Lemma 8)."""
    return 2.0 * (1.0 + omega1(M)) * K * math.log(M) / eta_y


def t0_approx(K: int, M: float, eta_y: float) -> float:
    """The practical approximation t0 ≈ 2K ln M / η_Y (§6)."""
    return 2.0 * K * math.log(M) / eta_y


def effective_rate(eta: float, momentum: float = 0.0) -> float:
    """Heavy-ball momentum μ raises a rate η towards η/(1−μ) (§6 "Units")."""
    return eta / (1.0 - momentum)


@dataclass(frozen=True)
class Predictions:
    """Predicted phase times, in optimizer steps, and the rates used to compute them."""

    t0_prime: float
    t0: float
    t0_approx: float
    eta_y: float
    eta_z: float
    momentum_corrected: bool


def predicted_times(K: int, M: int, eta_y: float, eta_z: float, momentum: float = 0.0,
                    correct_momentum: bool = True) -> Predictions:
    """t0′, t0 and 2K ln M/η_Y for a run.  With ``correct_momentum`` the rates are replaced by
    the effective rates η/(1−μ); without it the raw rates are used (μ is then ignored)."""
    mu = momentum if correct_momentum else 0.0
    ey, ez = effective_rate(eta_y, mu), effective_rate(eta_z, mu)
    return Predictions(t0_prime(K, M, ey), t0(K, M, ey), t0_approx(K, M, ey), ey, ez, correct_momentum and momentum > 0)


def predictions_for(cfg, correct_momentum: bool = True) -> Predictions:
    """:func:`predicted_times` for a :class:`~scansnap_core.scan_snap.config.RunConfig` (K and M from its
    layout; SGD momentum corrected as η/(1−μ), Adam left uncorrected)."""
    t = cfg.train
    momentum = t.momentum if t.optimizer == "sgd" else 0.0
    return predicted_times(cfg.num_classes, cfg.vocab_size, t.eta_y, t.eta_z, momentum, correct_momentum)


def phase_relation(step: float, pred: Predictions) -> str:
    """Where a measured step falls against the theory's phase times: "before t0′", "between t0′ and t0"
    or "after t0".  A statement about the numbers only (the theory predicts regimes, not one step)."""
    if step < pred.t0_prime:
        return "before t0′"
    return "between t0′ and t0" if step <= pred.t0 else "after t0"


#: Assumption 1(c): the decoder learns much faster than the attention; below this ratio we say so
FAST_DECODER_RATIO = 10.0


def assumption_gaps(cfg) -> tuple[str, ...]:
    """Where a :class:`~scansnap_core.scan_snap.config.RunConfig` leaves the setting the theory's times and bounds
    are derived in (docs/THEORY.md §1–§6), one short phrase each; empty when the run is inside it."""
    t, m = cfg.train, cfg.model
    gaps = []
    if t.optimizer == "adam":
        gaps.append("Adam: the theory analyses SGD, so t0′, t0 and the χ bounds are SGD theory at the same "
                    "rates, not predictions for this run")
    elif t.momentum > 0:
        gaps.append(f"momentum μ = {t.momentum:g}: the theory has none; t0′ and t0 use the effective rates "
                    f"η/(1−μ), an approximation")
    if t.mode == "sgd":
        gaps.append(f"finite T = {t.seq_len} sampled contexts (the theory takes T → ∞: mode 'expected')")
    if m.init != "zero" and m.init_scale > 0:
        gaps.append("default init (the theory starts from Y = Z = 0)")
    if t.eta_y < FAST_DECODER_RATIO * t.eta_z:  # never true for η_Z = 0
        gaps.append(f"η_Y/η_Z = {t.eta_y / t.eta_z:.3g} (the theory assumes η_Y ≫ η_Z)")
    if t.rate_changes:
        first = t.rate_changes[0][0]
        gaps.append(f"learning rates changed during the run (from step {first}; the theory's times use the "
                    f"starting rates η_Y = {t.eta_y:g}, η_Z = {t.eta_z:g} throughout)")
    if m.residual:
        gaps.append("residual on (the theorems used here are without it)")
    if not m.normalize:
        gaps.append("no ℓ2 normalisation (the theory normalises the attended histogram)")
    return tuple(gaps)


def assumption_note(*configs) -> str:
    """:func:`assumption_gaps` of one run, or of several (a sweep's grid: each gap named once, the
    η_Y/η_Z ones summarised), as one sentence for a caption; "" when every run is inside the setting."""
    gaps = assumption_gaps(configs[0]) if len(configs) == 1 else {g for c in configs for g in assumption_gaps(c)}
    if len(configs) > 1:
        ratios = [g for g in gaps if g.startswith("η_Y/η_Z")]
        gaps = sorted(gaps - set(ratios)) + (["η_Y/η_Z below 10 in some runs (the theory assumes η_Y ≫ η_Z)"]
                                             if ratios else [])
    return ("Outside the theory's assumptions: " + "; ".join(gaps) + ".") if gaps else ""


def phase_stops(cfg) -> dict[int, str]:
    """The steps at which a lecture pauses to narrate the SGD theory's phases (after step ⌈t0′⌉ and ⌈t0⌉,
    those within the run), with what each marks."""
    pred = predictions_for(cfg)
    stops: dict[int, str] = {}
    for t, what in ((pred.t0_prime, f"SGD t0′ = {pred.t0_prime:.1f}, where the theory's scanning phase ends"),
                    (pred.t0, f"SGD t0 = {pred.t0:.1f}, from where the theory's snapping regime holds")):
        step = max(1, math.ceil(t))
        if step <= cfg.train.steps:
            stops[step] = f"{stops[step]}; {what}" if step in stops else what
    return stops

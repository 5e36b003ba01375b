"""JoMA runs as files and numbers: training a demo to the end, its per-step tables and its summary (the keys the
CLI promises; docs/THEORY.md, "JoMA")."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..lab.run_files import write_run
from ..lab.trainable import train_to_end
from ..lab.limits import LIMITS
from ..lab.runner import Runner
from .hier import HierEngine, HierView, plan_hier
from .invariant import InvariantEngine, plan_invariant
from .lm import LMEngine, LMView, plan_lm
from .reduced import ReducedEngine, ReducedView, plan_reduced

__all__ = ["ENGINES", "live_runner", "save", "summarize", "summary_text", "tables", "train"]

#: demo name -> the engine that trains it, and its plan (memory and steps before it is built)
ENGINES = {"invariant": InvariantEngine, "reduced": ReducedEngine, "lm": LMEngine, "hier": HierEngine}
PLANS = {"invariant": plan_invariant, "reduced": plan_reduced, "lm": plan_lm, "hier": plan_hier}


def live_runner(demo: str, config: Any, delay: float = 0.0, threads: int | None = 1) -> Runner:
    """A background Runner training ``config`` of ``demo`` (large runs are built on their first step)."""
    return Runner(config, build=ENGINES[demo], delay=delay, threads=threads, plan=PLANS[demo],
                  build_now_below=LIMITS.build_on_open_mb * 2**20)


def train(demo: str, config: Any, progress: Callable[[int, int], None] | None = None):
    """Train ``config`` of ``demo`` to the end (or to the step where it diverged); the whole run's view."""
    return train_to_end(ENGINES[demo](config), progress)


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarize(view) -> dict:
    if isinstance(view, LMView):
        layers = {}
        for layer in range(view.config.layers):
            low, at = view.entropy_dip(layer)
            ranks = view.rank[:, layer]
            layers[str(layer + 1)] = {"entropy_start": float(view.entropy[0, layer]), "entropy_min": low,
                                      "argmin_step": at, "entropy_end": _number(float(view.entropy[-1, layer])),
                                      "stable_rank_start": float(ranks[0]),
                                      "stable_rank_end": _number(float(ranks[-1]))}
        return {"steps": view.step, "loss_start": float(view.loss[0]), "loss_end": _number(float(view.loss[-1])),
                "layers": layers}
    if isinstance(view, HierView):
        return {"steps": view.step, "loss_end": _number(float(view.loss[-1])),
                "levels": {str(level): {"correlation": float(view.correlation[-1, level]),
                                        "correlation_at_init": float(view.correlation[0, level])}
                           for level in range(view.correlation.shape[1])},
                "chance_level0": float(view.chance[-1])}
    if isinstance(view, ReducedView):
        low, at = view.entropy_min
        return {"steps": view.step, "mu": [float(m) for m in view.mu], "entropy_start": float(view.entropy[0]),
                "entropy_min": low, "argmin_step": at, "entropy_end": float(view.entropy[-1]),
                "entropy_limit": view.entropy_limit,
                "t90": {f"{i} (mu = {m:.3f})": t for i, (m, t) in enumerate(zip(view.mu, view.t90))}}
    distinct, common = view.mean_logits
    return {"steps": view.step, "nc_min": float(view.nc.min()), "nc_final": float(view.nc[-1]),
            "nc_argmin_step": int(np.argmin(view.nc)), "mean_logit_distinct": float(distinct[-1]),
            "mean_logit_common": _number(float(common[-1])), "entropy_start": float(view.entropy[0]),
            "entropy_end": float(view.entropy[-1]), "loss_start": float(view.loss[0]),
            "loss_end": _number(float(view.loss[-1]))}


def summary_text(summary: dict) -> str:
    s = summary
    if "layers" in s:
        return f"{s['steps']} steps, loss {s['loss_start']:.3f} -> {s['loss_end']:.3f}; " + "; ".join(
            f"layer {k}: attention entropy {v['entropy_start']:.3f} -> min {v['entropy_min']:.3f} at step "
            f"{v['argmin_step']} -> {v['entropy_end']:.3f}, MLP stable rank {v['stable_rank_start']:.1f} -> "
            f"{v['stable_rank_end']:.1f}" for k, v in s["layers"].items()) + "."
    if "levels" in s:
        return f"{s['steps']} steps, loss {s['loss_end']:.3f}; " + "; ".join(
            f"level {k}: best unit-latent correlation {v['correlation']:.3f} (at init {v['correlation_at_init']:.3f})"
            for k, v in s["levels"].items()) + f"; level-0 chance (decoy latents) {s['chance_level0']:.3f}."
    if "nc_min" in s:
        return (f"{s['steps']} steps: NC(z, invariant) min {s['nc_min']:.4f} (step {s['nc_argmin_step']}), final "
                f"{s['nc_final']:.4f}; mean logit distinct {s['mean_logit_distinct']:+.3f} vs common "
                f"{s['mean_logit_common'] if s['mean_logit_common'] is None else format(s['mean_logit_common'], '+.3f')}; "
                f"attention entropy {s['entropy_start']:.3f} -> {s['entropy_end']:.3f} nats.")
    reached = {k: v for k, v in s["t90"].items() if v is not None}
    return (f"{s['steps']} steps: entropy {s['entropy_start']:.3f} -> min {s['entropy_min']:.3f} at step "
            f"{s['argmin_step']} -> {s['entropy_end']:.3f} (limit {s['entropy_limit']:.3f}); "
            f"{len(reached)} of {len(s['t90'])} components reached 90 % of mu.")


def tables(view) -> dict[str, pd.DataFrame]:
    steps = view.steps
    if isinstance(view, LMView):
        frame = pd.DataFrame({"step": steps, "loss": view.loss})
        for layer in range(view.config.layers):
            frame[f"entropy_layer{layer + 1}"] = view.entropy[:, layer]
            frame[f"stable_rank_layer{layer + 1}"] = view.rank[:, layer]
        return {"steps": frame}
    if isinstance(view, HierView):
        evaluation = pd.DataFrame({"step": view.eval_steps})
        for level in range(view.correlation.shape[1]):
            evaluation[f"correlation_level{level}"] = view.correlation[:, level]
        evaluation["chance_level0"] = view.chance
        latents = pd.concat([pd.DataFrame({"level": level, "latent": np.arange(best.size), "best_correlation": best,
                                           "unit": unit}) for level, (best, unit) in enumerate(view.per_latent)])
        return {"steps": pd.DataFrame({"step": steps, "loss": view.loss}), "evaluation": evaluation,
                "latents": latents}
    if isinstance(view, ReducedView):
        n = view.v.shape[1]
        t, k = np.meshgrid(steps, np.arange(n), indexing="ij")
        return {"steps": pd.DataFrame({"step": steps, "entropy": view.entropy}),
                "components": pd.DataFrame({"step": t.ravel(), "component": k.ravel(),
                                            "mu": np.broadcast_to(view.mu, view.v.shape).ravel(), "v": view.v.ravel()})}
    distinct, common = view.mean_logits
    nc_terms = view.nc_terms
    frame = pd.DataFrame({"step": steps, "loss": view.loss, "nc": view.nc, "nc_squares_term": nc_terms[:, 0],
                          "nc_norms_term": nc_terms[:, 1], "entropy": view.entropy, "mean_logit_distinct": distinct,
                          "mean_logit_common": common})
    t, k = np.meshgrid(steps, np.arange(view.z.shape[1]), indexing="ij")
    logits = pd.DataFrame({"step": t.ravel(), "token": k.ravel(), "z": view.z.ravel(),
                           "invariant": view.predicted.ravel()})
    return {"steps": frame, "logits": logits}


def save(view, out: Path) -> list[Path]:
    return write_run(out, view.config.to_json(), summarize(view), tables(view))

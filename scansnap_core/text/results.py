"""Real-text runs as files and numbers: training to the end, the summary the CLI promises, per-step tables, and the
learning-rate comparison of the paper's Fig. 10 (docs/THEORY.md, "Real text")."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..lab.distributed import Backend, contiguous_chunks, run_chunks
from ..lab.fields import ConfigError
from ..lab.jobs import SweepJob
from ..lab.limits import LIMITS
from ..lab.run_files import write_run
from ..lab.runner import Runner
from ..lab.trainable import train_to_end
from .config import TextConfig
from .corpus import BUILTIN
from .engine import TextEngine, TextView, plan_text

__all__ = ["compare", "comparison_configs", "comparison_job", "comparison_seconds", "comparison_summary",
           "layer_summary", "live_runner", "save", "summarize", "summary_text", "tables", "train"]

#: rows of the attention-maps table at most (evenly spaced kept maps; the default run's 41 maps are 50 k rows)
MAX_MAP_ROWS = 500_000
COMPARE_CHUNK = 50  # steps between progress reports (and cancel checks) of a comparison
#: measured seconds per step of the default run on one core (BENCHMARKS.md), for time estimates
SECONDS_PER_DEFAULT_STEP = 0.016


def live_runner(config: TextConfig, delay: float = 0.0, threads: int | None = 1) -> Runner:
    return Runner(config, build=TextEngine, delay=delay, threads=threads, plan=plan_text,
                  build_now_below=LIMITS.build_on_open_mb * 2**20)


def train(config: TextConfig, progress: Callable[[int, int], None] | None = None) -> TextView:
    return train_to_end(TextEngine(config), progress)


def _number(value) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def layer_summary(view: TextView, layer: int) -> dict:
    entropy, drift = view.entropy[:, layer], view.drift[:, layer]
    peak = int(np.argmax(drift)) if drift.size else None
    return {"entropy_start": float(entropy[0]), "entropy_end": _number(float(entropy[-1])),
            "entropy_min": _number(float(np.nanmin(entropy))),
            "drift_first": _number(float(drift[0])) if drift.size else None,
            "drift_last": _number(float(drift[-1])) if drift.size else None,
            "drift_peak": _number(float(drift[peak])) if drift.size else None,
            "drift_peak_step": int(view.drift_steps[peak]) if drift.size else None,
            "freeze_step": view.freeze_step(layer)}


def summarize(view: TextView) -> dict:
    return {"steps": view.step, "corpus": view.config.corpus, "files": view.facts.get("files", []),
            "tokens_train": view.tokens_train,
            "tokens_val": view.tokens_val, "vocabulary": view.facts["vocabulary"],
            "unknown_val_fraction": view.facts["unknown validation tokens"], "parameters": view.facts["parameters"],
            "entropy_uniform": view.entropy_uniform,
            "val_loss_start": float(view.val_loss[0]), "val_loss_end": _number(float(view.val_loss[-1])),
            "layers": {str(layer + 1): layer_summary(view, layer) for layer in range(view.config.layers)}}


def summary_text(summary: dict) -> str:
    s = summary
    layers = "; ".join(
        f"layer {k}: attention entropy {v['entropy_start']:.3f} -> {_text(v['entropy_end'])} (uniform "
        f"{s['entropy_uniform']:.3f}), drift {_text(v['drift_first'])} -> peak {_text(v['drift_peak'])} -> "
        f"{_text(v['drift_last'])}, " + (f"frozen from step {v['freeze_step']}" if v["freeze_step"] is not None
                                         else "not frozen")
        for k, v in s["layers"].items())
    source = ", ".join(s["files"]) or s["corpus"]
    return (f"{s['steps']} steps on {source} ({s['tokens_train']:,} training / {s['tokens_val']:,} validation "
            f"tokens), validation loss {s['val_loss_start']:.3f} -> {_text(s['val_loss_end'])}; {layers}.")


def _text(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def tables(view: TextView) -> dict[str, pd.DataFrame]:
    layers = range(view.config.layers)
    evaluation = pd.DataFrame({"step": view.eval_steps, "val_loss": view.val_loss,
                               **{f"entropy_layer{i + 1}": view.entropy[:, i] for i in layers}})
    drift = pd.DataFrame({"step": view.drift_steps, **{f"drift_layer{i + 1}": view.drift[:, i] for i in layers}})
    per_map = view.config.layers * view.config.context ** 2
    kept = np.unique(np.linspace(0, view.map_steps.size - 1, max(2, MAX_MAP_ROWS // per_map)).astype(int))
    kept = kept[kept < view.map_steps.size]
    m, l, r, c = np.meshgrid(kept, np.arange(view.config.layers), np.arange(view.config.context),
                             np.arange(view.config.context), indexing="ij")
    maps = pd.DataFrame({"step": view.map_steps[m.ravel()], "layer": l.ravel() + 1, "query": r.ravel(),
                         "key": c.ravel(), "attention": view.maps[kept].ravel()})
    return {"steps": pd.DataFrame({"step": view.steps, "train_loss": view.loss}), "evaluation": evaluation,
            "drift": drift, "attention_maps": maps}


def save(view: TextView, out: Path) -> list[Path]:
    return write_run(out, view.config.to_json(), summarize(view), tables(view))


# ---------------------------------------------------------------------------------------------------- Fig. 10
def comparison_configs(config: TextConfig, lrs: Sequence[float], seeds: Sequence[int]) -> list[TextConfig]:
    """The runs of a learning-rate comparison: ``config`` at every learning rate and seed (ConfigError for a bad
    one)."""
    return [config.replace(lr=float(lr), seed=int(seed)) for lr in lrs for seed in seeds]


def compare(configs: Sequence[TextConfig], progress: Callable[[float, int, float], None] = lambda *a: None,
            partial: Callable[[pd.DataFrame], None] = lambda t: None,
            should_stop: Callable[[], bool] = lambda: False, backend: Backend | None = None) -> pd.DataFrame:
    """Train each run to its end, one after the other (a :class:`~scansnap_core.lab.jobs.SweepFunction`); one row
    per run and layer: learning rate, seed, layer, the layer's summary and the validation loss at the end.
    ``backend``: on a Dask cluster each run is one task (built-in corpora only: the workers have no uploads)."""
    if backend is not None and backend.kind == "dask":
        if any(c.corpus not in BUILTIN for c in configs):
            raise ConfigError("backend", "dask", f"a built-in corpus ({', '.join(BUILTIN)}): the cluster's workers "
                                                 "do not have an uploaded or --text-file text")
        return run_chunks(compare, list(configs), contiguous_chunks(range(len(configs))), backend,
                          describe=lambda c: f"lr = {c[0].lr:g}, seed {c[0].seed}", estimate=comparison_seconds,
                          progress=progress, partial=partial, should_stop=should_stop)
    rows: list[dict] = []
    work_per_step = comparison_seconds(configs[:1]) / max(1, configs[0].steps) if configs else 0.0
    work = 0.0
    for index, config in enumerate(configs):
        engine = TextEngine(config)
        while engine.step_count < config.steps and engine.divergence() is None:
            for _ in range(min(COMPARE_CHUNK, config.steps - engine.step_count)):
                engine.step()
                if engine.divergence() is not None:
                    break
            work += work_per_step * COMPARE_CHUNK
            progress(index + engine.step_count / config.steps, len(configs), work)
            if should_stop():
                return pd.DataFrame(rows)
        engine.finish()
        view = engine.view()
        for layer in range(config.layers):
            rows.append({"lr": config.lr, "seed": config.seed, "layer": layer + 1, "steps": view.step,
                         "val_loss_end": _number(float(view.val_loss[-1])), **layer_summary(view, layer)})
        partial(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def comparison_seconds(configs: Sequence[TextConfig]) -> float:
    """Estimated seconds of work on one free core (the default run's measured speed, scaled by the work per
    step)."""
    base = TextConfig()

    def per_step(c: TextConfig) -> float:
        layers = c.layers * (12 * c.d_model ** 2 + 2 * c.context * c.d_model)
        return c.batch * c.context * (c.vocab * c.d_model + layers)

    return sum(SECONDS_PER_DEFAULT_STEP * c.steps * per_step(c) / per_step(base) for c in configs)


def comparison_job(configs: Sequence[TextConfig], backend: Backend | None = None) -> SweepJob:
    """:func:`compare` as a background job; an uploaded corpus trains here whatever ``backend`` says (the
    cluster's workers do not have it)."""
    import functools

    if backend is not None and any(c.corpus not in BUILTIN for c in configs):
        backend = None
    return SweepJob(functools.partial(compare, list(configs), backend=backend), configs,
                    memory_bytes=max(plan_text(c).memory_bytes for c in configs),
                    seconds=comparison_seconds(configs))


def comparison_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per learning rate and layer: mean and spread of the final entropy over seeds, runs that froze."""
    if not len(table):
        return table
    grouped = table.groupby(["lr", "layer"], as_index=False)
    return grouped.agg(entropy_mean=("entropy_end", "mean"), entropy_min=("entropy_end", "min"),
                       entropy_max=("entropy_end", "max"), seeds=("seed", "count"),
                       frozen=("freeze_step", lambda s: int(s.notna().sum())),
                       val_loss_mean=("val_loss_end", "mean"))

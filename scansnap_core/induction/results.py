"""A finished induction-heads run as files and numbers: training to the end, the per-step tables, and the
summary whose keys the CLI promises (docs/THEORY.md, "Induction heads")."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..lab.cli_args import flag
from ..lab.run_files import write_run
from ..lab.trainable import train_to_end
from .config import PRESETS, InductionConfig, preset
from .engine import InductionEngine, InductionView, set_text

__all__ = ["cli_command", "save", "summarize", "summary_text", "tables", "train"]


def train(config: InductionConfig, progress: Callable[[int, int], None] | None = None) -> InductionView:
    """Train ``config`` to the end (or to the step where it diverged) and return the whole run."""
    return train_to_end(InductionEngine(config), progress)


def _end_of(view: InductionView, name: str) -> int:
    """The step at which the stage whose name starts with ``name`` ended (the run's last step if it has none)."""
    return min(next((s.end for s in view.stages if s.name.startswith(name)), view.step), view.step)


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def summarize(view: InductionView) -> dict:
    """The summary.json of a run.  ``selected_heads``: the subset with the largest p_S after stage I (joint: at the
    end), as the sorted distances those heads attend to most after stage II (joint: at the end)."""
    selected_row, copy_row = _end_of(view, "I "), _end_of(view, "II ")
    selected = view.chosen(selected_row)
    theory = view.theory
    evals = len(view.eval_steps) > 0
    return {
        "steps": view.step,
        "selected_head_indices": list(selected),
        "selected_heads": view.copied(selected, copy_row),
        "true_parents": list(view.config.parents),
        "selector_weights": {set_text(s): float(p) for s, p in zip(view.head_sets, view.selector[-1])},
        "rpe": {f"head {h + 1}": [float(v) for v in row] for h, row in enumerate(view.rpe[-1])},
        "a_final": float(view.scale[-1]),
        "train_loss": _number(view.latest_loss),
        "val_loss": _number(float(view.val_loss[-1])) if evals else None,
        "bayes_loss": view.references.bayes,
        "unigram_loss": view.references.unigram,
        "count_loss": view.references.count,
        "mi_modified": {set_text(s): theory.mi_modified[s] for s in theory.sets},
        "mi_plain": {set_text(s): theory.mi_plain[s] for s in theory.sets},
        "argmax_mi": list(theory.best),
        "matching_mass": _number(float(view.matching_mass[-1])) if evals else None,
        "t_I": view.t_selected,
        "t_II": view.t_copying,
    }


def summary_text(summary: dict) -> str:
    """Two lines for a terminal."""
    s = summary
    val = f", validation {s['val_loss']:.4f}" if s["val_loss"] is not None else ""
    return (f"{s['steps']} steps: selected heads {set_text(s['selected_head_indices'])} copying distances "
            f"{set_text(s['selected_heads'])} (true parents {set_text(s['true_parents'])}; the modified chi2-MI's "
            f"argmax {set_text(s['argmax_mi'])}); t_I = {s['t_I']}, t_II = {s['t_II']}, a = {s['a_final']:.3f}.\n"
            f"Loss: train {s['train_loss']:.4f}{val}; Bayes {s['bayes_loss']:.4f}, in-context unigram "
            f"{s['unigram_loss']:.4f}, counts {s['count_loss']:.4f}; matching mass {s['matching_mass']:.3f}.")


def tables(view: InductionView) -> dict[str, pd.DataFrame]:
    """Per-step tables: ``steps`` (loss, a, stage, p_S per head subset), ``rpe`` (long: step, head, distance,
    weight), ``evaluation`` (validation loss and matching mass) and ``mutual_info`` (per candidate set)."""
    stage = np.full(view.step + 1, "", dtype=object)
    for span in view.stages:
        stage[span.start + 1: span.end + 1] = span.name
    steps = pd.DataFrame({"step": view.steps, "stage": stage, "train_loss": view.loss, "a": view.scale})
    for column, heads in enumerate(view.head_sets):
        steps[f"p_heads{set_text(heads)}"] = view.selector[:, column]
    t, h, m = np.meshgrid(view.steps, np.arange(view.rpe.shape[1]), np.arange(view.rpe.shape[2]), indexing="ij")
    rpe = pd.DataFrame({"step": t.ravel(), "head": h.ravel() + 1, "distance": m.ravel() + 1,
                        "weight": view.rpe.ravel()})
    evaluation = pd.DataFrame({"step": view.eval_steps, "val_loss": view.val_loss,
                               "matching_mass": view.matching_mass})
    theory = view.theory
    mutual_info = pd.DataFrame({"distances": [set_text(s) for s in theory.sets],
                                "mi_modified": [theory.mi_modified[s] for s in theory.sets],
                                "mi_plain": [theory.mi_plain[s] for s in theory.sets]})
    return {"steps": steps, "rpe": rpe, "evaluation": evaluation, "mutual_info": mutual_info}


def cli_command(config: InductionConfig, out: str = "run") -> str:
    """The command that trains ``config`` again (the closest preset and the fields that differ from it)."""
    name = min(PRESETS, key=lambda n: len(config.to_query_params(base=preset(n))))
    changes = config.to_query_params(base=preset(name))
    args = " ".join(f"{flag(k)} {v if v else chr(39) * 2}" for k, v in changes.items())
    return f"python -m scansnap_core induction run --preset {name} {args} --out {out}".replace("  ", " ")


def save(view: InductionView, out: Path) -> list[Path]:
    """Write config.json, summary.json and every table as Parquet and CSV into ``out``."""
    return write_run(out, view.config.to_json(), summarize(view), tables(view))

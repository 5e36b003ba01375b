"""A JoMA run as one zip (every figure as PNG and SVG, captions, tables, config, summary) and the command that
trains it again."""

from __future__ import annotations

from typing import Any

from ..lab.cli_args import config_flags
from ..lab.export import run_pack
from ..lab.figure_style import ExportStyle
from .explain import hier_captions, invariant_captions, lm_captions, reduced_captions
from .figures import HIER_FIGURES, INVARIANT_FIGURES, LM_FIGURES, REDUCED_FIGURES
from .results import summarize, tables

__all__ = ["FIGURES", "cli_command", "figure_pack"]

FIGURES = {"invariant": INVARIANT_FIGURES, "reduced": REDUCED_FIGURES, "lm": LM_FIGURES, "hier": HIER_FIGURES}
CAPTIONS = {"invariant": invariant_captions, "reduced": reduced_captions, "lm": lm_captions, "hier": hier_captions}


def cli_command(demo: str, config: Any, out: str = "run") -> str:
    """``python -m scansnap_core joma DEMO`` with the settings that differ from the defaults."""
    return " ".join(["python -m scansnap_core joma", demo, *config_flags(config), "--out", out])


def figure_pack(demo: str, view: Any, style: ExportStyle = ExportStyle()) -> bytes:
    figures = {name: build(view) for name, build in FIGURES[demo].items()}
    return run_pack(figures, CAPTIONS[demo](view), tables(view), view.config.to_json(), summarize(view),
                    cli_command(demo, view.config), style)

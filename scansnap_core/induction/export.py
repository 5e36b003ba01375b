"""A finished (or paused) induction-heads run as one zip: every figure as PNG and SVG, their captions, the tables,
the configuration, the summary and the command that trains it again."""

from __future__ import annotations

from ..lab.export import run_pack
from ..lab.figure_style import ExportStyle
from .engine import InductionView
from .explain import captions
from .figures import FIGURES
from .results import cli_command, summarize, tables

__all__ = ["figure_pack", "figures_of"]


def figures_of(view: InductionView) -> dict:
    return {name: build(view) for name, build in FIGURES.items()}


def figure_pack(view: InductionView, style: ExportStyle = ExportStyle()) -> bytes:
    return run_pack(figures_of(view), captions(view), tables(view), view.config.to_json(), summarize(view),
                    cli_command(view.config, out="run"), style)

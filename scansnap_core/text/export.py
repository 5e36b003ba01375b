"""A real-text run as one zip (every figure as PNG and SVG, captions, tables, config, summary) and the command that
trains it again."""

from __future__ import annotations

import shlex

from ..lab.cli_args import config_flags
from ..lab.export import run_pack
from ..lab.figure_style import ExportStyle
from .config import TextConfig
from .corpus import BUILTIN, corpus, is_corpus
from .engine import TextView
from .explain import captions
from .figures import FIGURES
from .results import summarize, tables

__all__ = ["cli_command", "figure_pack", "figures_of"]


def cli_command(config: TextConfig, out: str = "run") -> str:
    """``python -m scansnap_core text run`` with the settings that differ from the defaults; an uploaded corpus
    becomes ``--text-file`` (and ``--val-file``) with the uploaded files' names (the server does not keep them)."""
    flags = config_flags(config.replace(corpus="topics"))
    if config.corpus not in BUILTIN:
        files = corpus(config.corpus).files if is_corpus(config.corpus) else ("YOUR_FILE.txt",)  # a forgotten upload
        flags = [f"{flag} {shlex.quote(name)}" for flag, name in zip(("--text-file", "--val-file"), files)] + flags
    elif config.corpus != "topics":
        flags = [f"--corpus {config.corpus}"] + flags
    return " ".join(["python -m scansnap_core text run", *flags, "--out", out])


def figures_of(view: TextView) -> dict:
    return {name: build(view) for name, build in FIGURES.items()}


def figure_pack(view: TextView, style: ExportStyle = ExportStyle()) -> bytes:
    return run_pack(figures_of(view), captions(view), tables(view), view.config.to_json(), summarize(view),
                    cli_command(view.config), style)

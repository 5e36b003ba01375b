"""The induction-heads study's commands: ``python -m scansnap_core induction run|theory`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..lab.cli_args import (add_config_flags, check_writable, command_status, config_from_args, positive_int,
                            use_threads)
from .config import PRESETS, InductionConfig, preset
from .engine import prior_theory, set_text
from .results import save, summarize, summary_text, train

def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Generalized induction heads on n-gram data (Chen, Sheen, "
                                                       "Wang, Yang, NeurIPS 2024): train the two-layer model.")
    sub = p.add_subparsers(dest="command", required=True)
    presets = ", ".join(PRESETS)
    run = sub.add_parser("run", help="train one configuration and write its tables",
                         description="Train one run; writes config.json, summary.json and the steps/rpe/evaluation/"
                                     "mutual_info tables as Parquet and CSV into --out, then prints a summary.")
    src = run.add_mutually_exclusive_group()
    src.add_argument("--preset", default="defaults", help=f"starting configuration: {presets} (default: defaults)")
    src.add_argument("--config", type=Path, help="starting configuration from a config.json file")
    run.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    run.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's choice)")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    run.add_argument("--figures", action="store_true",
                     help="also write every figure as PNG and SVG into OUT/figures (needs the system's Chromium)")
    add_config_flags(run, InductionConfig, aliases={"mixture": "--mixture-lambda"})
    th = sub.add_parser("theory", help="print the chi2 mutual information of every candidate parent set",
                        description="The modified and the ordinary chi2 mutual information of every candidate set of "
                                    "distances, from the prior (no training).")
    th.add_argument("--preset", default="defaults", help=f"starting configuration: {presets}")
    add_config_flags(th, InductionConfig, aliases={"mixture": "--mixture-lambda"})
    return p


def _config(args) -> InductionConfig:
    """--config FILE, else the preset, with the flags' changes."""
    start = InductionConfig() if getattr(args, "config", None) is not None else preset(args.preset)
    return config_from_args(args, start)


def main(argv: list[str] | None = None, prog: str = "python -m scansnap_core induction") -> int:
    args = _parser(prog).parse_args(argv)
    use_threads(getattr(args, "threads", None))
    return command_status(lambda: _run(args) if args.command == "run" else _theory(args))


def _run(args) -> None:
    cfg = _config(args)
    check_writable(args.out, directory=True)

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done % 50 == 0 or done == total):
            print(f"  step {done}/{total}", file=sys.stderr)

    view = train(cfg, progress)
    save(view, args.out)
    if args.figures:
        from ..lab.export import write_figures  # kaleido is loaded only when exporting
        from .export import figures_of

        write_figures(args.out / "figures", figures_of(view))
    print(summary_text(summarize(view)))
    print(f"Wrote {args.out}/config.json, summary.json and steps/rpe/evaluation/mutual_info .parquet + .csv")


def _theory(args) -> None:
    cfg = _config(args)
    theory = prior_theory(cfg.vocab, cfg.parents, cfg.alpha, cfg.mixture, cfg.heads, cfg.degree, cfg.seed)
    print(f"{'distances':<12}{'modified':>10}{'ordinary':>10}")
    for s in theory.sets:
        mark = "  <- argmax (selected)" if s == theory.best else ""
        print(f"{set_text(s):<12}{theory.mi_modified[s]:>10.4f}{theory.mi_plain[s]:>10.4f}{mark}")

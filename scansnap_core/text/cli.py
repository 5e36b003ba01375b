"""The real-text study's commands: ``python -m scansnap_core text run|sweep`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..lab.cli_args import (add_backend_flags, add_config_flags, backend_from_args, check_writable, command_status,
                            config_from_args, number, positive_int, sweep_bar, use_threads)
from ..lab.distributed import ChunkFailed, SweepInterrupted
from ..lab.fields import ConfigError
from ..lab.run_files import write_run
from .config import TextConfig
from .corpus import register_upload
from .explain import comparison_caption
from .results import compare, comparison_configs, comparison_summary, save, summarize, summary_text, train


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Real text (Tian, Wang, Chen, Du, NeurIPS 2023, Sec. 8): a "
                                                       "standard transformer trained on English; does its attention "
                                                       "sparsify and freeze?")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train one configuration and write its tables",
                         description="Train one run; writes config.json, summary.json and the steps/evaluation/drift/"
                                     "attention_maps tables as Parquet and CSV into --out, then prints a summary.")
    sweep = sub.add_parser("sweep", help="train several learning rates and seeds: final entropy against lr (Fig. 10)",
                           description="Train the same settings at every --lr and --seeds; writes runs.csv/.parquet "
                                       "(one row per run and layer), by_lr.csv/.parquet and summary.json into --out.")
    sweep.add_argument("--lr", dest="lrs", type=number, nargs="+", default=[1, 3, 5],
                       help="learning rates to compare (default: 1 3 5)")
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of each learning rate (default: 0)")
    add_backend_flags(sweep)
    for command in (run, sweep):
        command.add_argument("--config", type=Path, help="starting configuration from a config.json file")
        command.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
        command.add_argument("--text-file", type=Path, help="train on this UTF-8 .txt/.md file instead of a built-in "
                                                            "corpus (90 %% / 10 %% split unless --val-file is given)")
        command.add_argument("--val-file", type=Path, help="validation text for --text-file")
        command.add_argument("--threads", type=positive_int, default=None,
                             help="torch CPU threads (default: torch's choice)")
        command.add_argument("--quiet", action="store_true", help="no progress on stderr")
        add_config_flags(command, TextConfig, skip=("lr",) if command is sweep else ())
    run.add_argument("--figures", action="store_true",
                     help="also write every figure as PNG and SVG into OUT/figures (needs the system's Chromium)")
    return p


def _config(args) -> TextConfig:
    """--config FILE or the defaults, with the flags' changes; --text-file registers the file as the corpus."""
    if args.val_file is not None and args.text_file is None:
        raise ConfigError("--val-file", str(args.val_file), "only together with --text-file")
    if args.text_file is not None:
        val = args.val_file.read_bytes() if args.val_file is not None else None
        args.corpus = register_upload(args.text_file.name, args.text_file.read_bytes(),
                                      args.val_file.name if args.val_file is not None else None, val)
    return config_from_args(args, TextConfig())


def _progress(args, every: int):
    def report(done: int, total: int) -> None:
        if not args.quiet and (done % every == 0 or done == total):
            print(f"  step {done}/{total}", file=sys.stderr)

    return report


def _run(args) -> None:
    cfg = _config(args)
    check_writable(args.out, directory=True)
    view = train(cfg, _progress(args, max(1, cfg.steps // 10)))
    save(view, args.out)
    if args.figures:
        from ..lab.export import write_figures  # kaleido is loaded only when exporting
        from .export import figures_of

        write_figures(args.out / "figures", figures_of(view))
    print(summary_text(summarize(view)))
    print(f"Wrote {args.out}/config.json, summary.json and steps/evaluation/drift/attention_maps .parquet + .csv")


def _sweep(args) -> None:
    cfg = _config(args)
    check_writable(args.out, directory=True)
    configs = comparison_configs(cfg, args.lrs, args.seeds)

    backend = backend_from_args(args)
    try:
        table = compare(configs, (lambda *a: None) if args.quiet else sweep_bar(), backend=backend)
    except (ChunkFailed, SweepInterrupted) as err:  # keep the finished runs' rows
        write_run(args.out, cfg.to_json(), {"complete": False, "rows": len(err.table)}, {"runs": err.table})
        raise
    by_lr = comparison_summary(table)
    caption = comparison_caption(by_lr)
    summary = {"lrs": [float(v) for v in args.lrs], "seeds": list(args.seeds), "steps": cfg.steps,
               "corpus": cfg.corpus, "by_lr": by_lr.to_dict(orient="records"), "verdict": caption}
    write_run(args.out, cfg.to_json(), summary, {"runs": table, "by_lr": by_lr})
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(by_lr.to_string(index=False))
    print(caption)
    print(f"Wrote {args.out}/config.json, summary.json, runs and by_lr .parquet + .csv")


def main(argv: list[str] | None = None, prog: str = "python -m scansnap_core text") -> int:
    args = _parser(prog).parse_args(argv)
    use_threads(args.threads)
    return command_status(lambda: _run(args) if args.command == "run" else _sweep(args))

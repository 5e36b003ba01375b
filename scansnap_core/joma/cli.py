"""The JoMA study's commands: ``python -m scansnap_core joma invariant|reduced --out DIR`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..lab.cli_args import (add_config_flags, check_writable, command_status, config_from_args, positive_int,
                            use_threads)
from .config import DEMOS
from .results import save, summarize, summary_text, train


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="JoMA (Tian, Wang, Zhang, Chen, Du, ICLR 2024): joint "
                                                       "MLP/attention dynamics, one command per demo.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (config_cls, what) in DEMOS.items():
        demo = sub.add_parser(name, help=what, description=f"{what}. Writes config.json, summary.json and the "
                                                          "per-step tables (Parquet and CSV) into --out.")
        demo.add_argument("--config", type=Path, help="starting configuration from a config.json file")
        demo.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
        demo.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
        demo.add_argument("--quiet", action="store_true", help="no progress on stderr")
        add_config_flags(demo, config_cls)
    return p


def _run(args) -> None:
    cfg = config_from_args(args, DEMOS[args.command][0]())
    check_writable(args.out, directory=True)
    every = max(1, cfg.steps // 10)

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done % every == 0 or done == total):
            print(f"  step {done}/{total}", file=sys.stderr)

    view = train(args.command, cfg, progress)
    save(view, args.out)
    print(summary_text(summarize(view)))
    print(f"Wrote {args.out}/config.json, summary.json and the per-step tables (.parquet + .csv)")


def main(argv: list[str] | None = None, prog: str = "python -m scansnap_core joma") -> int:
    args = _parser(prog).parse_args(argv)
    use_threads(args.threads)
    return command_status(lambda: _run(args))

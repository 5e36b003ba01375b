"""Scan & Snap's commands: ``python -m scansnap_core [scan-snap] run|sweep|animate|theory`` (see ``--help``;
the lab-wide entry point is :mod:`scansnap_core.cli`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..lab.cli_args import (add_backend_flags, backend_from_args, check_writable, command_status, flag, number,
                            positive_int, progress_bar, sweep_bar, use_threads)
from ..lab.distributed import ChunkFailed, SweepInterrupted
from ..lab.fields import ConfigError, Range
from .config import FIELD_SECTION, RunConfig
from .fields import FIELD_CHOICES, FIELD_HELP, field_kind
from .presets import PRESET_ALIASES, PRESETS, preset
from .results import train
from .sweep import FIG6_GRID, MAX_SWEEP_RUNS, fig6_configs, run_sweep, summarize_sweep
from .figures.animation import write_animation
from ..lab.animation import ANIMATION_FORMATS
from .run_folder import load_run
from .theory import predictions_for

#: what `animate` accepts
ANIMATION_SECONDS, ANIMATION_FRAMES = Range(1, 600), Range(2, 500, integer=True)

_KIND = {name: field_kind(name) for name in FIELD_SECTION if field_kind(name) not in ("weights", "schedule")}
_BOOL_FIELDS = tuple(n for n, k in _KIND.items() if k == "bool")
_NUMBER_FIELDS = tuple(n for n, k in _KIND.items() if k in ("int", "float"))


def _rate_change(text: str) -> tuple[float, float, float]:
    """STEP:ETA_Y:ETA_Z (ranges are checked by the config)."""
    parts = text.split(":")
    try:
        if len(parts) != 3:
            raise argparse.ArgumentTypeError("three parts")
        return tuple(number(p) for p in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not STEP:ETA_Y:ETA_Z (e.g. 41:1:0.5)") from None


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog,
                                description="Scan & Snap: train the 1-layer Y/Z transformer of Tian et al. (2023).")
    sub = p.add_subparsers(dest="command", required=True)
    names = ", ".join(list(PRESETS) + list(PRESET_ALIASES))

    run = sub.add_parser("run", help="train one configuration and write its tables",
                         description="Train one run; writes config.json, summary.json and metrics/attention/decoder "
                                     "tables as Parquet and CSV into --out, then prints a summary.")
    src = run.add_mutually_exclusive_group()
    src.add_argument("--preset", default="syn-small", help=f"starting configuration: {names} (default syn-small)")
    src.add_argument("--config", type=Path, help="starting configuration from a config.json file")
    src.add_argument("--config-token", help="starting configuration from a compact token (RunConfig.to_token)")
    run.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    run.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's choice)")
    for name in _NUMBER_FIELDS:
        run.add_argument(flag(name), dest=name, type=number, help=FIELD_HELP[name])
    for name, options in FIELD_CHOICES.items():
        run.add_argument(flag(name), dest=name, choices=options, help=FIELD_HELP[name])
    for name in _BOOL_FIELDS:
        run.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction, help=FIELD_HELP[name])
    run.add_argument("--rate-change", dest="rate_changes", action="append", type=_rate_change,
                     metavar="STEP:ETA_Y:ETA_Z", help="from step STEP on, train with these rates (repeatable; replaces "
                                                      "the starting configuration's changes)")

    sw = sub.add_parser("sweep", help="batched learning-rate sweep (the paper's Fig. 6 by default)",
                        description="Run a grid of Syn-Medium configurations x seeds batched in one process and "
                                    "write one row per run. With no grid flags this is exactly the Fig. 6 grid.")
    sw.add_argument("--preset", default="syn-medium", choices=["syn-medium"], help="layout family (syn-medium)")
    sw.add_argument("--num-query", type=int, nargs="+", default=list(FIG6_GRID["num_query"]),
                    help="query-token counts (two next tokens each); default 1 3 5 10")
    sw.add_argument("--eta-z", type=float, nargs="+", default=list(FIG6_GRID["eta_z"]),
                    help="attention learning rates eta_Z; default 0.5 1 2 3")
    sw.add_argument("--ratio", type=float, nargs="+", default=list(FIG6_GRID["ratio"]),
                    help="eta_Y/eta_Z ratios; default 1 2 5 10")
    sw.add_argument("--seeds", nargs="+", default=["1-10"], help="seeds, as numbers or ranges like 1-10; default 1-10")
    sw.add_argument("--steps", type=int, default=FIG6_GRID["steps"], help="steps per run; default 100")
    sw.add_argument("--out", type=Path, required=True, help="output table: .csv or .parquet")
    sw.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's choice)")
    sw.add_argument("--device", choices=FIELD_CHOICES["device"], default="auto", help=FIELD_HELP["device"])
    add_backend_flags(sw)

    an = sub.add_parser("animate", help="an animation of a saved run that plays offline",
                        description="Animate a run folder written by `run`: the attention heatmap and the logit "
                                    "trajectories in sync, with t0', t0, the scan peak and the snap appearing when "
                                    "reached. html: animation.html with play/pause and a step slider, plotly.js "
                                    "embedded (no network needed); mp4: animation.mp4, H.264 1920x1080 at 30 fps; "
                                    "gif: animation.gif, 960x540, one frame per step, looping. Videos need Chromium "
                                    "(kaleido renders the frames).")
    an.add_argument("run_dir", type=Path, help="a folder written by `run`")
    an.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    an.add_argument("--format", nargs="+", choices=ANIMATION_FORMATS, default=["html"],
                    help="one or more of html (default), mp4, gif")
    an.add_argument("--seconds", type=number, default=10, help="playing time, 1 to 600 s (default 10)")
    an.add_argument("--frames", type=number, default=60, help="frames at most, 2 to 500: one per recorded step "
                                                             "shown (default 60)")

    th = sub.add_parser("theory", help="print the predicted scanning/snapping times",
                        description="Print t0' = K ln M/eta_Y, t0 = 2(1+omega1) K ln M/eta_Y and 2K ln M/eta_Y.")
    th.add_argument("--preset", default="fig3", help=f"configuration to read K, M and rates from: {names}")
    th.add_argument("--eta-y", type=float, help="override eta_Y")
    th.add_argument("--eta-z", type=float, help="override eta_Z")
    return p


def _write_table(table, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table.to_parquet(out, index=False)
    else:
        table.to_csv(out, index=False)


def _seeds(items: list[str]) -> list[int]:
    ranges = []
    for item in items:
        lo, sep, hi = item.partition("-")
        try:
            ranges.append(range(int(lo), int(hi) + 1) if sep else range(int(lo), int(lo) + 1))
        except ValueError:
            raise ConfigError("seeds", item, "integers or ranges like 1-10") from None
    if sum(len(r) for r in ranges) > MAX_SWEEP_RUNS:  # counted before any list is built
        raise ConfigError("seeds", " ".join(items), f"at most {MAX_SWEEP_RUNS} seeds")
    return [seed for r in ranges for seed in r]


def _run_config(args) -> RunConfig:
    if args.config is not None:
        try:
            text = args.config.read_bytes()
        except OSError as exc:
            raise ConfigError("config", str(args.config), f"a readable JSON file ({exc.strerror})") from None
        cfg = RunConfig.from_json(text)
    elif args.config_token is not None:
        cfg = RunConfig.from_token(args.config_token)
    else:
        cfg = preset(args.preset)
    fields = _NUMBER_FIELDS + tuple(FIELD_CHOICES) + _BOOL_FIELDS + ("rate_changes",)
    overrides = {name: getattr(args, name) for name in fields if getattr(args, name) is not None}
    return cfg.replace(**overrides) if overrides else cfg


def main(argv: list[str] | None = None, prog: str = "python -m scansnap_core") -> int:
    args = _parser(prog).parse_args(argv)
    use_threads(getattr(args, "threads", None))
    return command_status(lambda: _command(args))


def _command(args) -> None:
    if args.command == "run":
        cfg = _run_config(args)
        check_writable(args.out, directory=True)
        result = train(cfg)
        result.save(args.out)
        print(result.summary_text())
        print(f"Wrote {args.out}/config.json, summary.json and metrics/attention/decoder .parquet + .csv")
    elif args.command == "sweep":
        configs = fig6_configs(num_query=args.num_query, eta_z=args.eta_z, ratio=args.ratio,
                               seeds=_seeds(args.seeds), steps=args.steps, device=args.device)
        backend = backend_from_args(args)
        check_writable(args.out, directory=False)
        start = time.perf_counter()
        try:
            table = run_sweep(configs, progress=sweep_bar(), backend=backend)
        except (ChunkFailed, SweepInterrupted) as err:  # keep the finished chunks' rows
            _write_table(err.table, args.out)
            print(f"{len(err.table)} of {len(configs)} runs finished; wrote {args.out}", file=sys.stderr)
            raise
        elapsed = time.perf_counter() - start
        _write_table(table, args.out)
        print(summarize_sweep(table).to_string(index=False))
        print(f"{len(table)} runs x {args.steps} steps in {elapsed:.1f} s ({backend.describe()}); wrote {args.out}")
    elif args.command == "animate":
        seconds = ANIMATION_SECONDS.check("seconds", args.seconds)
        frames = ANIMATION_FRAMES.check("frames", args.frames)
        data = load_run(args.run_dir)
        check_writable(args.out, directory=True)
        args.out.mkdir(parents=True, exist_ok=True)
        for fmt in dict.fromkeys(args.format):
            print(write_animation(data, args.out, fmt, seconds, frames, progress_bar(f"  {fmt}")))
    else:
        cfg = preset(args.preset)
        ey = args.eta_y if args.eta_y is not None else cfg.train.eta_y
        ez = args.eta_z if args.eta_z is not None else cfg.train.eta_z
        cfg = cfg.replace(eta_y=ey, eta_z=ez)
        p = predictions_for(cfg)
        rates = "momentum-corrected rates eta/(1-mu)" if p.momentum_corrected else "the raw rates"
        print(f"K = {cfg.num_classes}, M = {cfg.vocab_size}, eta_Y = {ey:g}, eta_Z = {ez:g}: "
              f"t0' = {p.t0_prime:.2f}, t0 = {p.t0:.2f}, 2K ln M/eta_Y = {p.t0_approx:.2f} steps ({rates})")

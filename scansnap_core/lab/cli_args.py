"""What every study's command line shares: argparse types that leave range checks to the config, flag names
from field names, and the output checks that fail before training rather than after it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from .distributed import ChunkFailed, SweepInterrupted
from .export import RendererUnavailable
from .fields import ConfigError

__all__ = ["add_backend_flags", "add_config_flags", "backend_from_args", "changes_from_args", "check_writable",
           "command_status", "config_flags", "config_from_args", "flag", "number", "positive_int", "progress_bar",
           "sweep_bar", "use_threads"]


def flag(name: str) -> str:
    """The command-line flag of a config field: ``eta_y`` -> ``--eta-y``."""
    return "--" + name.replace("_", "-")


def number(text: str) -> int | float:
    """argparse type that accepts any number text; types and ranges are checked by the config."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    # keep integers as typed (a message then quotes "-3", not "-3.0")
    return int(value) if value.is_integer() and text.strip().lstrip("+-").isdigit() else value


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def check_writable(path: Path, directory: bool) -> None:
    """Fail before training, not after, if the output cannot be written."""
    target = path if directory else path.parent
    if (directory and path.exists() and not path.is_dir()) or (not directory and path.is_dir()):
        raise ConfigError("out", str(path), "a folder path" if directory else "a file path, not a folder")
    for parent in [target, *target.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError("out", str(path), f"a path whose parent {parent} is a folder")
            break


def progress_bar(label: str, stream=None) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` that draws ``label [#####.....] done/total`` on stderr: redrawn in place on a
    terminal, a line per tenth otherwise (logs stay short)."""
    stream = stream or sys.stderr
    live = stream.isatty()
    shown = [-1]

    def report(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if not live and tenth == shown[0]:
            return
        shown[0] = tenth
        filled = 30 * done // max(total, 1)
        line = f"{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        stream.write(("\r" + line + ("\n" if done >= total else "")) if live else line + "\n")
        stream.flush()

    return report


def add_backend_flags(parser: argparse.ArgumentParser) -> None:
    """Where a sweep trains (scansnap_core.lab.distributed): this process or a Dask cluster."""
    from .distributed import ADDRESS_ENV, BACKENDS

    group = parser.add_argument_group("where the sweep trains")
    group.add_argument("--backend", choices=BACKENDS, default="local",
                       help="local: this process (default); dask: a Dask cluster (pip install -r requirements-dask.txt)")
    group.add_argument("--dask-address", help=f"the scheduler, e.g. tcp://host:8786 (default: ${ADDRESS_ENV}, else "
                                              "a local cluster on 127.0.0.1)")
    group.add_argument("--workers", type=positive_int, default=2,
                       help="worker processes of a local cluster, one thread each (default 2)")
    group.add_argument("--chunk-size", type=positive_int, default=None,
                       help="runs per task at most (default: all the runs that train together)")
    group.add_argument("--retries", type=int, default=2, help="reruns of a chunk that fails (default 2)")


def backend_from_args(args):
    """The :class:`~scansnap_core.lab.distributed.Backend` the flags ask for (ConfigError for a bad one)."""
    from .distributed import Backend

    if args.backend == "local" and args.dask_address:
        raise ConfigError("dask-address", args.dask_address, "used only with --backend dask")
    backend = Backend(args.backend, args.dask_address, args.workers, args.chunk_size, args.retries)
    if not backend.available:
        raise ConfigError("backend", "dask", "a Python with dask and distributed installed "
                                             "(pip install -r requirements-dask.txt)")
    return backend


def sweep_bar(label: str = "  runs") -> Callable[[float, int, float], None]:
    """A sweep's ``progress(done, total, work)`` as a :func:`progress_bar` of whole runs."""
    bar = progress_bar(label)
    return lambda done, total, work=0.0: bar(int(done), total)


def use_threads(threads: int | None) -> None:
    """``--threads``: torch's CPU threads (None: torch's choice)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


def command_status(command: Callable[[], None]) -> int:
    """Run a command; bad input (a ConfigError or an unusable file) prints one line naming what was wrong, and
    the status is 2 instead of 0."""
    try:
        command()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except RendererUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ChunkFailed as exc:  # the finished chunks' rows were written first
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SweepInterrupted:
        print("interrupted: the cluster's tasks were cancelled; the finished chunks' rows were written",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def add_config_flags(parser: argparse.ArgumentParser, config_cls, aliases: dict[str, str] | None = None,
                     skip: tuple[str, ...] = ()) -> None:
    """A flag for every field of a :class:`~scansnap_core.lab.flat_config.FlatConfig` but ``skip``: numbers and
    choices typed, flags as --name/--no-name, fields of their own type as text parsed by the field table;
    ``aliases`` adds a second flag name for a field."""
    table, aliases = config_cls.FIELDS, aliases or {}
    for name in config_cls.field_names():
        if name in skip:
            continue
        names = [flag(name)] + ([aliases[name]] if name in aliases else [])
        kind = table.kind(name)
        if kind == "choice":
            parser.add_argument(*names, dest=name, choices=table.choices[name], help=table.help[name])
        elif kind == "bool":
            parser.add_argument(*names, dest=name, action=argparse.BooleanOptionalAction, help=table.help[name])
        elif kind in ("int", "float"):
            parser.add_argument(*names, dest=name, type=number, help=table.help[name])
        else:
            parser.add_argument(*names, dest=name, metavar="TEXT", help=table.help[name])


def config_flags(config, base=None) -> list[str]:
    """The command-line flags that turn ``base`` (default: the defaults) into ``config`` (see
    :func:`add_config_flags`)."""
    flags = []
    for name, text in config.to_query_params(base=base).items():
        kind = config.FIELDS.kind(name)
        flags.append(flag(name) if kind == "bool" and text == "true" else
                     f"--no-{name.replace('_', '-')}" if kind == "bool" else f"{flag(name)} {text}")
    return flags


def changes_from_args(args: argparse.Namespace, config) -> dict:
    """The fields the command line set (see :func:`add_config_flags`), as values for ``config.replace``."""
    table, changes = config.FIELDS, {}
    for name in config.field_names():
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = table.parse(name, value, getattr(config, name)) if name in table.custom else value
    return changes


def config_from_args(args: argparse.Namespace, start):
    """The configuration a command asks for: ``--config FILE`` (a config.json) if given, else ``start``, with the
    flags' changes (see :func:`add_config_flags`)."""
    path = getattr(args, "config", None)
    if path is not None:
        try:
            values = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError("config", str(path), f"a readable JSON file ({exc.strerror})") from None
        except ValueError as exc:
            raise ConfigError("config", str(path), f"valid JSON ({exc})") from None
        start = type(start).from_dict(values)
    changes = changes_from_args(args, start)
    return start.replace(**changes) if changes else start


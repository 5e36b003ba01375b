"""What every study's command line shares: argparse types that leave range checks to the config, flag names
from field names, and the output checks that fail before training rather than after it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from .fields import ConfigError

__all__ = ["add_config_flags", "changes_from_args", "config_flags", "config_from_args", "check_writable",
           "command_status", "flag", "number", "positive_int", "use_threads"]


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


"""What every study's command line shares: argparse types that leave range checks to the config, flag names
from field names, and the output checks that fail before training rather than after it."""

from __future__ import annotations

import argparse
from pathlib import Path

from .fields import ConfigError

__all__ = ["check_writable", "flag", "number", "positive_int"]


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

"""Where a run trains: the ``device`` field (``auto | cpu | cuda``), read by Scan & Snap's engine and meant for
every study's.

``auto`` picks the first CUDA device torch can use and the CPU otherwise, so one configuration runs
anywhere; ``cuda`` insists on a GPU and is refused, with the reason, on a machine without one.  The
product never needs a GPU: every engine is tested on the CPU path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fields import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["DEVICE_CHOICES", "describe_devices", "resolve_device"]

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """The torch device a ``device`` field stands for on this machine (ConfigError where there is none)."""
    import torch  # here, so that configurations and the CLI's parser load without torch

    if name not in DEVICE_CHOICES:
        raise ConfigError("device", name, "one of " + ", ".join(DEVICE_CHOICES))
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise ConfigError("device", name, "auto or cpu: this machine has no CUDA device that torch can use")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")


def describe_devices() -> str:
    """One line on what ``auto`` picks here, for captions and ``--help``."""
    import torch

    if not torch.cuda.is_available():
        return "no CUDA device here: auto trains on the CPU"
    return f"auto trains on CUDA: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} device(s))"

"""The lab's command line: ``python -m scansnap_core [STUDY] COMMAND …`` (or ``scansnap …`` once
installed).  Each study brings its own commands; without a study name they are Scan & Snap's
(``run``, ``sweep``, ``theory``), so ``python -m scansnap_core run …`` keeps working."""

from __future__ import annotations

import importlib
import sys

#: study name on the command line -> the module whose ``main(argv, prog)`` runs its commands
STUDIES = {"scan-snap": "scansnap_core.scan_snap.cli", "induction": "scansnap_core.induction.cli",
           "joma": "scansnap_core.joma.cli", "text": "scansnap_core.text.cli"}
DEFAULT_STUDY = "scan-snap"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    named = bool(argv) and argv[0] in STUDIES
    study = argv.pop(0) if named else DEFAULT_STUDY
    prog = "python -m scansnap_core" + (f" {study}" if named else "")
    return importlib.import_module(STUDIES[study]).main(argv, prog=prog)


def entry() -> None:
    """The ``scansnap`` console command (pyproject.toml)."""
    raise SystemExit(main())

"""``python -m scansnap_app.serve [streamlit options]``: the app's server (``make run``, the Docker image).

Streamlit imports what a page needs on the page's first run, so on a fresh server the first visitor would
wait for torch, pandas, plotly and every study's modules to load (BENCHMARKS.md, "First visit").  This
launcher loads them first, in the server's own process, and then runs ``streamlit run app.py`` with the
options given, so every visitor finds them loaded.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
#: the packages whose modules the pages import (command-line entry points excluded)
PACKAGES = ("scansnap_core", "scansnap_app")


def warm() -> tuple[int, float]:
    """Import every module of :data:`PACKAGES` (and with them torch, pandas and plotly), train two tiny runs
    and build one figure (plotly sets up its validators on the first); returns (modules, seconds)."""
    start = time.perf_counter()
    names = [name for package in PACKAGES for name in _modules(package)]
    for name in names:
        importlib.import_module(name)
    try:  # best effort: the server starts whatever happens here (e.g. limits that refuse these runs)
        _first_runs()
    except Exception as err:
        print(f"Scan & Snap Lab: warm-up run skipped ({type(err).__name__}: {err})", file=sys.stderr)
    return len(names), time.perf_counter() - start


def _first_runs() -> None:
    """Two tiny runs and one figure: what a visitor's first run would otherwise pay for once per process."""
    from scansnap_core.scan_snap.engine import Engine
    from scansnap_core.scan_snap.figures import attention_heatmap
    from scansnap_core.scan_snap.presets import preset
    from scansnap_core.scan_snap.results import RunData

    for name in ("syn-small", "fig3"):  # both branches of Engine._value_grad (the sparse one's first use imports
        engine = Engine(preset(name, steps=2))  # torch's symbolic-shape helpers: 0.6 s, once per process)
        engine.step(2)
        attention_heatmap(RunData.from_engine(engine)).to_json()  # as a live chart sends it


def _modules(package: str) -> list[str]:
    root = importlib.import_module(package)
    return [package] + [info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
                        if not info.name.endswith(("__main__", ".cli", ".serve", ".healthcheck"))]


def main(argv: list[str] | None = None) -> None:
    modules, seconds = warm()
    print(f"Scan & Snap Lab: {modules} modules loaded in {seconds:.1f} s; starting the server", file=sys.stderr,
          flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()

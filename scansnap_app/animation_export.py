"""The animation export of a finished or paused run, the same on every page that has one: an offline HTML with
play/pause and a slider, an MP4 (H.264, 1920 x 1080, 30 fps) or a looping GIF (960 x 540), rendered with a
progress bar, then downloaded.  The page hands over ``write(folder, fmt, seconds, frames, progress) -> line``
(for Scan & Snap, :func:`scansnap_core.scan_snap.figures.animation.write_animation`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import streamlit as st

from scansnap_core.lab.export import RendererUnavailable

from .plain import plain

FORMATS = {"html": "HTML (plays offline)", "mp4": "MP4 · 1920×1080", "gif": "GIF · 960×540"}
MIMES = {"html": "text/html", "mp4": "video/mp4", "gif": "image/gif"}
#: the page's limits (the CLI's are wider): a video of 2 minutes renders in about a minute on 2 cores
SECONDS, STEPS = (1, 120), (2, 200)

Writer = Callable[[Path, str, float, int, Callable[[int, int], None]], str]


def animation_export(write: Writer, name: str, step: int, key: str, run: object) -> None:
    """Format, length and steps shown, a "Render animation" button with a progress bar, then the download of
    the file rendered for this ``name`` (the run and chart), ``step`` and ``run`` (its configuration)."""
    identity = (name, step, repr(run))
    c1, c2, c3, c4 = st.columns([2.2, 1, 1, 1.2], vertical_alignment="bottom")
    fmt = c1.segmented_control("Animation", list(FORMATS), format_func=FORMATS.get, default="mp4",
                               key=f"{key}_format", help="HTML: one file with play/pause and a step slider that "
                               "opens in any browser without a network. MP4 for slides and talks, GIF for READMEs.")
    seconds = c2.number_input("Length (s)", min_value=SECONDS[0], max_value=SECONDS[1], value=10, key=f"{key}_seconds",
                              help="Playing time from the first step to the last")
    frames = c3.number_input("Steps shown", min_value=STEPS[0], max_value=STEPS[1], value=60, key=f"{key}_frames",
                             help="Recorded steps shown, evenly spread, always the first and the last "
                                  "(a video shows at most one per video frame)")
    if c4.button("Render animation", key=f"{key}_render", icon=":material/movie:", width="stretch"):
        fmt = fmt or "mp4"
        bar = st.progress(0.0, text=f"Rendering the {fmt.upper()}…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Rendering the {fmt.upper()}: {done} / {total} "
                                                              "(frames rendered, then encoded)")

        try:
            with tempfile.TemporaryDirectory(prefix="scansnap-animation-") as folder:
                line = write(Path(folder), fmt, float(seconds), int(frames), progress)
                content = (Path(folder) / f"animation.{fmt}").read_bytes()
            st.session_state[f"_{key}"] = (identity, fmt, content, line.split(": ", 1)[-1])
        except RendererUnavailable as err:  # MP4 and GIF need the system's Chromium; the HTML does not
            st.session_state.pop(f"_{key}", None)
            st.error(f"Could not render the {fmt.upper()}: {plain(err)}. The HTML animation needs no browser.")
        except Exception as err:  # say what failed, keep the page
            st.session_state.pop(f"_{key}", None)
            st.error(f"Could not render the animation ({type(err).__name__}: {plain(err)}).")
        finally:
            bar.empty()
    stored = st.session_state.get(f"_{key}")
    if stored is not None and stored[0] == identity:  # not another run's or another chart's file
        _, fmt, content, facts = stored
        st.download_button(f"⬇ Download animation.{fmt} (step {step}: {facts})", content,
                           file_name=f"{name}-step{step}.{fmt}", mime=MIMES[fmt], key=f"{key}_download",
                           type="primary")

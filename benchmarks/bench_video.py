"""Video export rates (issue 17): how fast frames are rendered (kaleido, 1920 x 1080, one tab against one tab
per core), encoded (H.264 MP4 by imageio-ffmpeg's ffmpeg, GIF by Pillow) and what a Syn-Small run's default
video costs end to end.  Prints Markdown.

    python benchmarks/bench_video.py [--images 30]

Renders: the still frames of a Syn-Small run (100 steps), each a distinct step.  Encoding: the same PNGs, each
held for 5 video frames (a 60-step video of 10 s at 30 fps).  End to end: `write_animation` as the CLI and the
pages call it (60 steps, 10 s), Chromium start included.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import plotly.graph_objects as go

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.lab import video  # noqa: E402
from scansnap_core.scan_snap.engine import Engine  # noqa: E402
from scansnap_core.scan_snap.figures.animation import still_frames, write_animation  # noqa: E402
from scansnap_core.scan_snap.presets import preset  # noqa: E402
from scansnap_core.scan_snap.results import RunData  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30, help="distinct images rendered per measurement")
    args = parser.parse_args()
    engine = Engine(preset("syn-small"), max_records=400)
    engine.step(100)
    engine.ensure_final_record()
    data = RunData.from_engine(engine)
    stills = still_frames(data, frames=args.images)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}\n")
    print("| stage | images or frames | seconds | per second |\n|---|---|---|---|")
    video.render_pngs(stills[:2], tabs=1)  # Chromium's and plotly.js's files into the OS cache (each call starts a browser)
    tiny = [go.Figure(go.Scatter(x=[0, 1], y=[i, 1])) for i in range(len(stills))]
    start = time.perf_counter()
    video.render_pngs(tiny, tabs=1)
    took = time.perf_counter() - start
    print(f"| render a two-point scatter at 1920x1080, 1 tab (kaleido's floor) | {len(tiny)} | {took:.1f} | "
          f"{len(tiny) / took:.2f} |")
    pngs = []
    for tabs in sorted({1, video._tabs()}):
        start = time.perf_counter()
        pngs = video.render_pngs(stills, tabs=tabs)
        took = time.perf_counter() - start
        print(f"| render 1920x1080 stills, {tabs} tab(s) | {len(stills)} | {took:.1f} | "
              f"{len(stills) / took:.2f} |")
    kind = video.VIDEO_FORMATS["mp4"]
    held = video._held(len(pngs), 5 * len(pngs))
    with tempfile.TemporaryDirectory() as folder:
        for fmt, write in (("mp4", video._write_mp4), ("gif", video._write_gif)):
            kind = video.VIDEO_FORMATS[fmt]
            size = (kind.width, kind.height)
            count = len(held) if fmt == "mp4" else len(pngs)
            start = time.perf_counter()
            if fmt == "mp4":
                write(Path(folder) / "v.mp4", dict(enumerate(pngs)), held, kind, size, lambda done: None)
            else:
                write(Path(folder) / "v.gif", pngs, video._gif_delays(len(pngs), 10), size, lambda done: None)
            took = time.perf_counter() - start
            print(f"| encode {fmt} {kind.width}x{kind.height} ({'video frames' if fmt == 'mp4' else 'distinct images'}) "
                  f"| {count} | {took:.1f} | {count / took:.1f} |")
        for fmt in ("mp4", "gif"):
            start = time.perf_counter()
            line = write_animation(data, Path(folder), fmt, seconds=10, frames=60)
            took = time.perf_counter() - start
            print(f"| end to end: Syn-Small {fmt}, 60 steps, 10 s | {line.split(': ', 1)[1]} | {took:.1f} | – |")


if __name__ == "__main__":
    main()

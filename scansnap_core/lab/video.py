"""Videos of any study's figures, frame by frame: MP4 (H.264) and GIF at talk quality.  Frames are plotly
figures rendered to PNG by kaleido in several Chromium tabs at once; MP4 is encoded by the ffmpeg that
ships inside the imageio-ffmpeg wheel, GIF by Pillow.  Each distinct figure is rendered once and held for
as many video frames as its share of the duration (benchmarks/bench_video.py measures the rates)."""

from __future__ import annotations

import asyncio
import io
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from .export import chromium_missing

__all__ = ["VIDEO_FORMATS", "VideoFormat", "video_frame_count", "render_pngs", "write_video"]


@dataclass(frozen=True)
class VideoFormat:
    """A video file kind: its pixel size and frame rate (for a GIF, the most distinct images a second: its
    delays are whole hundredths of a second, and browsers slow delays under 2/100 s down).  Figures are laid out
    at 1920 x 1080 CSS pixels and rendered at ``scale``, so a GIF looks like a smaller copy of the MP4."""

    width: int
    height: int
    fps: int
    scale: float = 1.0


VIDEO_FORMATS = {
    "mp4": VideoFormat(1920, 1080, 30),
    "gif": VideoFormat(960, 540, 25, scale=0.5),
}
_LAYOUT_SIZE = (1920, 1080)
_render_lock = threading.Lock()  # one video at a time per process: each render already uses every core


def video_frame_count(fmt: str, seconds: float) -> int:
    """How many frames a ``fmt`` video of ``seconds`` has at most (an MP4 has exactly these)."""
    return max(1, round(VIDEO_FORMATS[fmt].fps * seconds))


def _tabs() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def render_pngs(figures: Sequence[go.Figure], scale: float = 1.0,
                progress: Callable[[int], None] | None = None, tabs: int | None = None) -> list[bytes]:
    """Every figure as PNG bytes at 1920 x 1080 CSS pixels times ``scale``, in order; kaleido renders them in
    one Chromium with ``tabs`` tabs (default one per core, at most 4; ``progress(done)`` after each)."""
    import kaleido

    width, height = _LAYOUT_SIZE
    specs = [go.Figure(fig).update_layout(width=width, height=height).to_plotly_json() for fig in figures]
    opts = dict(format="png", width=width, height=height, scale=scale)

    cancel, rendered = threading.Event(), [0]

    async def render_all() -> list[bytes]:
        images: list[bytes] = [b""] * len(specs)
        todo = iter(range(len(specs)))  # shared by the tabs' loops: each image once
        count = min(tabs or _tabs(), len(specs))
        async with kaleido.Kaleido(n=count, mathjax=False) as renderer:
            async def tab() -> None:
                for i in todo:
                    if cancel.is_set():  # asked before each image, so a stop waits for one image at most
                        return
                    images[i] = await renderer.calc_fig(specs[i], opts=opts)
                    rendered[0] += 1

            await asyncio.gather(*(tab() for _ in range(count)))
        return images

    result: dict = {}

    def run() -> None:  # its own thread: the caller may already have an event loop (a notebook)
        try:
            with chromium_missing():
                result["images"] = asyncio.run(render_all())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            result["error"] = exc

    worker = threading.Thread(target=run, name="video-render", daemon=True)
    worker.start()
    try:
        reported = 0
        while worker.is_alive():  # progress is reported from the caller's thread (a Streamlit script's own)
            worker.join(0.2)
            if progress and rendered[0] != reported:
                reported = rendered[0]
                progress(reported)
    finally:  # the caller stopped (Ctrl-C, a rerun): the renders not yet begun are skipped
        cancel.set()
        worker.join()
    if "error" in result:
        raise result["error"]
    return result["images"]


def _held(distinct: int, total: int) -> list[int]:
    """Which of ``distinct`` images each of ``total`` frames shows: in order, first and last included, each
    image held for an equal share (evenly spread images when there are more images than frames)."""
    if distinct > total:
        return [int(i) for i in np.linspace(0, distinct - 1, total).round()]
    return [min(distinct - 1, math.floor(i * distinct / total)) for i in range(total)]


def _gif_delays(images: int, seconds: float) -> list[int]:
    """Milliseconds each image shows, in whole hundredths of a second, adding up to ``seconds``."""
    ends = [round(k * seconds * 100 / images) * 10 for k in range(images + 1)]
    return [b - a for a, b in zip(ends, ends[1:])]


def _rgb(png: bytes, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    if image.size != size:  # kaleido rounds scaled sizes; the file's size is exact
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image)


def write_video(figures: Sequence[go.Figure], path: str | Path, fmt: str, seconds: float,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Write ``figures`` in order as a ``fmt`` ("mp4" or "gif") video lasting ``seconds``, each shown for an
    equal share (an MP4 has 30 frames a second, each figure held for as many as its share; a GIF has one frame
    per figure, at most 25 a second); ``progress(done, total)`` counts rendered images, then encoded frames.
    Returns the file's facts: path, width, height, fps (None for a GIF), frames, seconds, bytes and distinct
    images."""
    if not figures:
        raise ValueError("a video needs at least one figure")
    kind = VIDEO_FORMATS[fmt]
    most = video_frame_count(fmt, seconds)
    held = _held(len(figures), most if fmt == "mp4" else min(len(figures), most))  # a GIF: each image once
    shown = sorted(set(held))
    delays = _gif_delays(len(shown), seconds) if fmt == "gif" else []
    work = len(shown) + len(held)
    report = progress or (lambda done, total: None)
    size = (kind.width, kind.height)
    path = Path(path)
    with _render_lock:
        pngs = dict(zip(shown, render_pngs([figures[i] for i in shown], kind.scale,
                                           lambda done: report(done, work))))
        encoded = lambda done: report(len(shown) + done, work)  # noqa: E731
        if fmt == "mp4":
            _write_mp4(path, pngs, held, kind, size, encoded)
        else:
            _write_gif(path, [pngs[i] for i in shown], delays, size, encoded)
    return dict(path=str(path), width=kind.width, height=kind.height, fps=kind.fps if fmt == "mp4" else None,
                frames=len(held), seconds=sum(delays) / 1000 if delays else len(held) / kind.fps,
                bytes=path.stat().st_size, distinct=len(shown))


def _write_mp4(path: Path, pngs: dict[int, bytes], held: list[int], kind: VideoFormat, size: tuple[int, int],
               progress: Callable[[int], None]) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(str(path), size, fps=kind.fps, codec="libx264", pix_fmt_out="yuv420p",
                                         quality=8, macro_block_size=8,  # 1080 = 8 x 135: no resize
                                         output_params=["-movflags", "+faststart"])  # plays while loading
    writer.send(None)
    try:
        frame, current = None, None
        for i, index in enumerate(held):
            if index != current:
                frame, current = _rgb(pngs[index], size), index
            writer.send(frame)
            if i % 10 == 9 or i == len(held) - 1:
                progress(i + 1)
    finally:
        writer.close()


def _write_gif(path: Path, pngs: list[bytes], delays: list[int], size: tuple[int, int],
               progress: Callable[[int], None]) -> None:
    """One GIF frame per image, shown for its delay (ms), looping forever."""
    from PIL import Image

    frames = [Image.fromarray(_rgb(png, size)) for png in pngs]
    # one palette for all frames (from up to 8 of them, stacked) and no dithering: unchanged pixels stay
    # identical from frame to frame, which GIF stores almost for free (a quarter of per-frame palettes' size)
    sample = frames[:: max(1, len(frames) // 8)][:8] + [frames[-1]]
    stack = Image.new("RGB", (size[0], size[1] * len(sample)))
    for i, frame in enumerate(sample):
        stack.paste(frame, (0, size[1] * i))
    palette = stack.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    colours = palette.getpalette()[: 3 * 255]
    white = len(colours) // 3
    palette.putpalette(colours + [255, 255, 255])
    images = []
    for frame in frames:  # Pillow's palette lookup is approximate: pure white is set exactly
        indices = np.asarray(frame.quantize(palette=palette, dither=Image.Dither.NONE)).copy()
        indices[(np.asarray(frame) == 255).all(axis=2)] = white
        image = Image.fromarray(indices)  # "L"; the palette makes it "P"
        image.putpalette(palette.getpalette())
        images.append(image)
        progress(len(images))
    images[0].save(path, save_all=True, append_images=images[1:], loop=0, optimize=False, duration=delays)

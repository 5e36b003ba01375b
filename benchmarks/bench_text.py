"""Speed and memory of the real-text study (docs/THEORY.md, "Real text"), side by side in one process.

1. What the core vectorises, against straightforward versions (each pair checked to agree first): the training
   batch as one gather of token windows vs a Python loop over the samples; the attention maps figure laid out by
   hand vs with plotly's make_subplots; each layer's entropy and drift over all validation windows at once vs a
   loop over the windows.
2. The default run (800 steps, one torch thread, the way the page and the CLI train it) and the learning-rate
   comparison of three runs (lr 1, 3, 5; 400 steps each, the page's default).
3. How the cost of a step grows with the vocabulary M, the width d and the layers.
4. Estimated (plan_text) against measured training memory: the peak RSS growth of a fresh process.
5. The default run and the comparison in the page, Start to "Finished" in headless Chromium.

    python benchmarks/bench_text.py
"""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scansnap_core.text.config import TextConfig  # noqa: E402
from scansnap_core.text.corpus import corpus  # noqa: E402
from scansnap_core.text.engine import TextEngine, plan_text  # noqa: E402
from scansnap_core.text.figures import attention_maps_figure  # noqa: E402
from scansnap_core.text.results import compare, comparison_configs, train  # noqa: E402


def timed(function, repeats: int) -> float:
    """Seconds per call (best of three rounds of ``repeats`` calls)."""
    function()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def windows_gather(ids: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    return ids[starts[:, None] + torch.arange(length)]


def windows_loop(ids: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    return torch.stack([ids[int(s): int(s) + length] for s in starts])


def maps_make_subplots(view, layer: int = 0):
    """The first version of the maps figure: plotly's make_subplots and update_*axes per panel."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    from scansnap_core.text.figures import map_steps

    steps = map_steps(view)
    labels = [f"{i}·{w}" for i, w in enumerate(view.words)]
    fig = make_subplots(rows=1, cols=len(steps), subplot_titles=[f"step {s}" for s in steps])
    for col, step in enumerate(steps, start=1):
        fig.add_trace(go.Heatmap(z=view.map_at(step)[1][layer], x=labels, y=labels), row=1, col=col)
        fig.update_yaxes(autorange="reversed", row=1, col=col)
    return fig


def entropy_drift_vectorised(now: torch.Tensor, before: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    entropy = -(now * torch.log(now + 1e-8)).sum(-1).mean(dim=(1, 2))
    return entropy.numpy(), (0.5 * (now - before).abs().sum(-1).mean(dim=(1, 2))).numpy()


def entropy_drift_loop(now: torch.Tensor, before: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    layers, windows = now.shape[:2]
    entropy, drift = np.zeros(layers), np.zeros(layers)
    for layer in range(layers):
        for w in range(windows):
            rows_now, rows_before = now[layer, w], before[layer, w]
            entropy[layer] += float(-(rows_now * torch.log(rows_now + 1e-8)).sum(-1).mean()) / windows
            drift[layer] += float(0.5 * (rows_now - rows_before).abs().sum(-1).mean()) / windows
    return entropy, drift


def side_by_side() -> None:
    print("## What the core vectorises, side by side\n")
    print("| what | straightforward | vectorised | ratio |\n|---|---:|---:|---:|")
    ids = torch.from_numpy(corpus("topics").encode(2000)[0])
    starts = torch.randint(ids.numel() - 40, (20,))
    assert torch.equal(windows_gather(ids, starts, 36), windows_loop(ids, starts, 36))
    loop, gather = timed(lambda: windows_loop(ids, starts, 36), 2000), timed(lambda: windows_gather(ids, starts, 36),
                                                                              2000)
    print(f"| a training batch (20 windows of 36 tokens) | {loop * 1e6:.1f} µs | {gather * 1e6:.1f} µs | "
          f"{loop / gather:.1f}× |")
    view = train(TextConfig(steps=200))
    old, new = timed(lambda: maps_make_subplots(view).to_plotly_json(), 5), timed(
        lambda: attention_maps_figure(view).to_plotly_json(), 50)
    print(f"| the attention maps figure (4 panels of 35 × 35) | {old * 1e3:.1f} ms | {new * 1e3:.1f} ms | "
          f"{old / new:.0f}× |")
    attention = torch.softmax(torch.randn(3, 32, 35, 35), -1)
    before = torch.softmax(torch.randn(3, 32, 35, 35), -1)
    a, b = entropy_drift_loop(attention, before), entropy_drift_vectorised(attention, before)
    assert np.allclose(a[0], b[0], atol=1e-5) and np.allclose(a[1], b[1], atol=1e-5)
    loop, vector = timed(lambda: entropy_drift_loop(attention, before), 5), timed(
        lambda: entropy_drift_vectorised(attention, before), 200)
    print(f"| entropy and drift, 3 layers × 32 windows | {loop * 1e3:.2f} ms | {vector * 1e3:.2f} ms | "
          f"{loop / vector:.0f}× |\n")


def default_runs() -> None:
    print("## The default run and the learning-rate comparison (one torch thread)\n")
    start = time.perf_counter()
    corpus("docstrings")
    print(f"- reading the standard library's docstrings (once per process): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    view = train(TextConfig())
    seconds = time.perf_counter() - start
    print(f"- default run (topics, vocabulary 2000, d 64, 1 layer, lr 5, 800 steps): {seconds:.1f} s, "
          f"{800 / seconds:.0f} steps/s; entropy {view.entropy[0, 0]:.3f} -> {view.entropy[-1, 0]:.3f}")
    configs = comparison_configs(TextConfig(steps=400), [1, 3, 5], [0])
    start = time.perf_counter()
    table = compare(configs)
    seconds = time.perf_counter() - start
    print(f"- comparison lr 1 / 3 / 5, 400 steps each: {seconds:.1f} s; final entropy "
          + " / ".join(f"{h:.3f}" for h in table["entropy_end"]) + "\n")


def scaling() -> None:
    print("## Cost of a step against M, d and layers (ms per step, batch 20 × 35 tokens)\n")
    print("| vocabulary M | d 64, 1 layer | d 64, 3 layers | d 256, 1 layer |\n|---:|---:|---:|---:|")
    for vocab in (500, 2000, 8000, 20000):
        cells = []
        for d, layers in ((64, 1), (64, 3), (256, 1)):
            engine = TextEngine(TextConfig(corpus="docstrings", vocab=vocab, d_model=d, layers=layers, steps=1000))
            cells.append(f"{timed(engine.step, 20) * 1e3:.1f}")
        print(f"| {vocab:,} | " + " | ".join(cells) + " |")
    print()


MEMORY_PROBE = """
import sys, torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from scansnap_core.text.config import TextConfig
from scansnap_core.text.corpus import corpus
from scansnap_core.text.engine import TextEngine

def status(field):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field))

config = TextConfig(**{kw!r})
corpus(config.corpus).encode(config.vocab)
torch.randn(8, 8) @ torch.randn(8, 8)
open("/proc/self/clear_refs", "w").write("5")  # the high-water mark starts again from here
before = status("VmRSS:")
engine = TextEngine(config)
for _ in range(60):
    engine.step()
print(status("VmHWM:") - before)
"""


def memory() -> None:
    print("## Training memory: estimate against the measured peak RSS growth while a fresh process builds the run and "
          "trains 60 steps (Linux VmHWM, reset before)\n")
    print("| setting | estimated MB | measured MB |\n|---|---:|---:|")
    for kw in ({}, {"vocab": 20000}, {"vocab": 8000, "d_model": 256, "layers": 3, "batch": 64, "context": 64}):
        out = subprocess.run([sys.executable, "-c", MEMORY_PROBE.format(root=str(ROOT), kw=kw)], capture_output=True,
                             text=True, check=True)
        grown = int(out.stdout.strip()) / 1024  # kB
        print(f"| {kw or 'default'} | {plan_text(TextConfig(**kw)).memory_bytes / 2**20:.0f} | {grown:.0f} |")
    print()


def in_the_page() -> None:
    """The same two runs in the page: a real server and headless Chromium on this machine, live charts on."""
    from playwright.sync_api import sync_playwright

    from bench_ui import serve
    from browsing import CHROMIUM_ARGS

    print("## In the page (real server, headless Chromium, live charts refreshing)\n")
    proc, url = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            page.goto(url + "/real_text")
            page.get_by_role("button", name="Start", exact=True).wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            start = time.perf_counter()
            page.get_by_role("button", name="Start", exact=True).click()
            page.get_by_text("Finished 800 steps").wait_for(timeout=180_000)
            print(f"- default run, Start -> 'Finished 800 steps': {time.perf_counter() - start:.1f} s")
            page.wait_for_timeout(1000)
            start = time.perf_counter()
            page.get_by_role("button", name="Compare", exact=True).click()
            page.get_by_text("Finished 3 runs").wait_for(timeout=180_000)
            print(f"- comparison lr 1 / 3 / 5 × 400 steps, Compare -> 'Finished 3 runs': "
                  f"{time.perf_counter() - start:.1f} s\n")
            browser.close()
    finally:
        proc.kill()


def main() -> None:
    torch.set_num_threads(1)
    print(f"Machine: {platform.machine()}, {platform.python_version()}, torch {torch.__version__}, "
          f"{resource.getpagesize()} B pages, one torch thread\n")
    side_by_side()
    default_runs()
    scaling()
    memory()
    in_the_page()


if __name__ == "__main__":
    main()

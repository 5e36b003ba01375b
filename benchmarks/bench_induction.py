"""Training speed of the induction-heads model through its kernel (scansnap_core/induction/model.py) against two
implementations that build the paper's features explicitly, side by side in one process.

* ``explicit, loops``: how a reader of the paper writes it first: one-hot tokens, each head's copy
  u_h(i) = Σ_j σ_{h,j}(i) e_{x_{i−j}} summed position by position and distance by distance, the FFN feature
  φ(i) = concat_S (c_S/‖c‖) ⊗_{h∈S} ū_h(i) as explicit tensor products subset by subset, then
  K(L+1, l) = ⟨φ(L+1), φ(l)⟩; vectorised over the batch only.
* ``explicit, vectorised``: the same features for every position at once (one-hot windows [N, L+1, M, d],
  outer products over all positions): a competent rewrite that still builds the tensor products.
* ``kernel``: the product: match indicators computed once per dataset, no features at all.

Every implementation trains the same parameters on the same data; a step is a forward pass, the gradient of
every parameter (w, c, a) and the update.  The three losses on the same parameters are checked to agree first.
Then a full staged run (400 steps, the spec's schedule) with the engine the page uses.

    python benchmarks/bench_induction.py            # N = 1000, L = 64 (about a minute)
    python benchmarks/bench_induction.py --quick    # smoke check
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.induction.config import InductionConfig  # noqa: E402
from scansnap_core.induction.data import sample_sequences  # noqa: E402
from scansnap_core.induction.engine import InductionEngine  # noqa: E402
from scansnap_core.induction.model import Params, forward, matches, window_weights  # noqa: E402
from scansnap_core.induction.mutual_info import candidate_sets  # noqa: E402
from scansnap_core.induction.training import EPSILON  # noqa: E402


def _features_loops(params: Params, onehot: torch.Tensor, window: int) -> torch.Tensor:
    """φ(i) for i = 1..L+1, position by position: [N, L+1, F]."""
    n, length, vocab = onehot.shape
    heads = params.w.shape[0]
    c = params.c / params.c.norm()
    rows = []
    for i in range(1, length + 2):
        valid = [j for j in range(1, window + 1) if i - j >= 1]
        copies = []
        for h in range(heads):
            u = torch.zeros(n, vocab)
            if valid:
                weights = torch.softmax(params.w[h, [j - 1 for j in valid]], dim=0)
                for weight, j in zip(weights, valid):
                    u = u + weight * onehot[:, i - j - 1]
                u = u / u.norm(dim=1, keepdim=True)
            copies.append(u)
        parts = []
        for coefficient, subset in zip(c, params.sets):
            product = torch.ones(n, 1)
            for h in subset:
                product = (product[:, :, None] * copies[h][:, None, :]).reshape(n, -1)
            parts.append(coefficient * product)
        rows.append(torch.cat(parts, dim=1))
    return torch.stack(rows, dim=1)


def _features_vectorised(params: Params, onehot: torch.Tensor, window: int) -> torch.Tensor:
    """φ(i) for every position at once: [N, L+1, F]."""
    n, length, vocab = onehot.shape
    position = torch.arange(1, length + 2)[:, None] - torch.arange(1, window + 1)[None, :]  # [L+1, M]
    valid = (position >= 1).float()
    windows = onehot[:, (position - 1).clamp(min=0)] * valid[None, :, :, None]  # [N, L+1, M, d]
    sigma = window_weights(params.w, length)  # [L+1, H, M]
    u = torch.einsum("ihm,nimd->nihd", sigma, windows)
    norm = u.norm(dim=-1, keepdim=True)
    u = torch.where(norm > 0, u / norm.clamp(min=1e-30), torch.zeros(()))
    c = params.c / params.c.norm()
    parts = []
    for coefficient, subset in zip(c, params.sets):
        product = torch.ones(n, length + 1, 1)
        for h in subset:
            product = (product[..., :, None] * u[:, :, h, None, :]).reshape(n, length + 1, -1)
        parts.append(coefficient * product)
    return torch.cat(parts, dim=-1)


def explicit_loss(params: Params, tokens: torch.Tensor, window: int, vocab: int, features) -> torch.Tensor:
    inputs, target = tokens[:, :-1], tokens[:, -1]
    onehot = torch.nn.functional.one_hot(inputs, vocab).float()
    phi = features(params, onehot, window)
    kernel = torch.einsum("nf,nlf->nl", phi[:, -1], phi[:, :-1])
    attention = torch.softmax(params.a * kernel, dim=-1)
    probability = (attention * (inputs == target[:, None]).float()).sum(dim=-1)
    return -torch.log(probability + EPSILON).mean()


def kernel_loss(params: Params, m) -> torch.Tensor:
    probability, _, _ = forward(params, m)
    return -torch.log(probability + EPSILON).mean()


def _params(heads: int, window: int, degree: int) -> Params:
    sets = [tuple(h - 1 for h in s) for s in candidate_sets(heads, degree)]
    p = Params.init(heads, window, sets)
    with torch.no_grad():  # a generic point: every term matters
        p.c += torch.linspace(0, 0.5, len(sets))
        p.a.fill_(1.5)
    return p


def _step(params: Params, loss_fn) -> float:
    loss = loss_fn(params)
    grads = torch.autograd.grad(loss, [params.w, params.c, params.a])
    with torch.no_grad():
        for p, g in zip((params.w, params.c, params.a), grads):
            p -= 1e-3 * g
    return float(loss.detach())


def seconds_per_step(loss_fn, heads, window, degree, seconds: float) -> float:
    params = _params(heads, window, degree)
    _step(params, loss_fn)  # warm-up
    start = time.perf_counter()
    _step(params, loss_fn)
    once = time.perf_counter() - start
    repeats = max(2, int(seconds / max(once, 1e-4)))
    start = time.perf_counter()
    for _ in range(repeats):
        _step(params, loss_fn)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, length = (200, 32) if args.quick else (1000, 64)
    vocab, heads, window, degree = 3, 3, 3, 2
    seconds = 0.5 if args.quick else 4.0
    tokens = torch.from_numpy(sample_sequences(np.random.default_rng(0), n, length, vocab, (1, 2), 0.1)[0])
    m = matches(tokens, window, vocab)
    implementations = {
        "explicit, loops": lambda p: explicit_loss(p, tokens, window, vocab, _features_loops),
        "explicit, vectorised": lambda p: explicit_loss(p, tokens, window, vocab, _features_vectorised),
        "kernel (the product)": lambda p: kernel_loss(p, m),
    }
    losses = {name: float(fn(_params(heads, window, degree)).detach()) for name, fn in implementations.items()}
    spread = max(losses.values()) - min(losses.values())
    assert spread < 1e-4, losses
    print(f"# Induction heads: one training step (N = {n}, L = {length}, d = {vocab}, H = M = {heads}, D = {degree}; "
          f"1 torch thread; {platform.processor() or platform.machine()}, torch {torch.__version__})\n")
    print(f"Same parameters, same loss: {losses['kernel (the product)']:.6f} (spread {spread:.1e})\n")
    print("| implementation | ms / step | steps / s | kernel's speed-up |")
    print("|---|---|---|---|")
    times = {name: seconds_per_step(fn, heads, window, degree, seconds) for name, fn in implementations.items()}
    kernel = times["kernel (the product)"]
    for name, t in times.items():
        print(f"| {name} | {1000 * t:.1f} | {1 / t:.1f} | {t / kernel:.1f}× |")
    cfg = InductionConfig(samples=n, length=length)
    start = time.perf_counter()
    engine = InductionEngine(cfg)
    built = time.perf_counter() - start
    stage_times = []
    for span in engine.stages:
        start = time.perf_counter()
        while engine.step_count < span.end:
            engine.step()
        stage_times.append((span.name, span.end - span.start, time.perf_counter() - start))
    engine.finish()
    total = built + sum(t for _, _, t in stage_times)
    print(f"\nFull staged run with the page's engine ({cfg.total_steps} steps, validation every 10 steps): "
          f"{total:.1f} s in all (build {built:.2f} s, data and the prior's χ²-MI)\n")
    print("| stage | steps | s | steps / s |")
    print("|---|---|---|---|")
    for name, steps, t in stage_times:
        print(f"| {name} | {steps} | {t:.2f} | {steps / t:.0f} |")


if __name__ == "__main__":
    main()

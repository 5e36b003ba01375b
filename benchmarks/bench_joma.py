"""Speed of the JoMA demos' engines against straightforward per-step implementations, side by side in one process.

* Demo 1 (the invariant): the engine trains every class as one row of a batch; the baseline loops over the
  classes in Python each step (one forward and backward per class, gradients summed), as a first implementation
  of "for each class k: attention, MLP, loss" would.
* Demo 2 (sparse, then dense): the engine updates every component at once with numpy; the baseline loops over the
  components in Python.

Both pairs are checked to give the same numbers first.  Then each demo's default run through the engine, the
way the page and the CLI train it.

    python benchmarks/bench_joma.py
"""

from __future__ import annotations

import math
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scansnap_core.joma.config import InvariantConfig, ReducedConfig  # noqa: E402
from scansnap_core.joma.invariant import InvariantEngine, _Model, class_distributions  # noqa: E402
from scansnap_core.joma.reduced import ReducedEngine, saliencies  # noqa: E402
from scansnap_core.lab.trainable import train_to_end  # noqa: E402


def invariant_per_class(config: InvariantConfig, steps: int) -> np.ndarray:
    """Demo 1 with a Python loop over the classes: z after ``steps`` steps."""
    model = _Model(config, class_distributions(config))
    x = model.x
    for _ in range(steps):
        grads = [torch.zeros_like(p) for p in model.parameters]
        for k in range(config.classes):
            weighted = x[k] * torch.exp(model.z / config.temperature)
            b = weighted / weighted.sum()
            f = torch.cat([b, torch.ones(1, dtype=b.dtype), torch.zeros(model.dim - b.shape[0] - 1, dtype=b.dtype)])
            logits = f @ model.w
            loss = torch.nn.functional.cross_entropy(logits[None], torch.tensor([k])) / config.classes
            for g, d in zip(grads, torch.autograd.grad(loss, model.parameters)):
                g += d
        with torch.no_grad():
            for p, g in zip(model.parameters, grads):
                p -= config.lr * g
    return model.z.detach().numpy()


def reduced_per_component(config: ReducedConfig) -> np.ndarray:
    """Demo 2 with a Python loop over the components: v after all steps."""
    mu = list(saliencies(config))
    v = [config.v0] * len(mu)
    for _ in range(config.steps):
        logits = [x * x / config.temperature for x in v]
        top = max(logits)
        weights = [math.exp(a - top) for a in logits]
        total = sum(weights)
        v = [x + config.lr * (m - x) * w / total for x, m, w in zip(v, mu, weights)]
    return np.array(v)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    torch.set_num_threads(1)
    print(f"# JoMA demos (1 torch thread; {platform.machine()}, Python {platform.python_version()}, "
          f"torch {torch.__version__})\n")
    print("| demo | implementation | steps | s | steps / s | engine's speed-up |")
    print("|---|---|---|---|---|---|")
    cfg = InvariantConfig(steps=200)
    t_loop, z_loop = timed(lambda: invariant_per_class(cfg, cfg.steps))
    t_engine, view = timed(lambda: train_to_end(InvariantEngine(cfg)))
    assert np.allclose(view.z[-1], z_loop, atol=1e-10), "the two implementations disagree"
    print(f"| 1, invariant | per-class loop | {cfg.steps} | {t_loop:.2f} | {cfg.steps / t_loop:,.0f} | |")
    print(f"| 1, invariant | engine (classes as a batch, with recording) | {cfg.steps} | {t_engine:.2f} | "
          f"{cfg.steps / t_engine:,.0f} | {t_loop / t_engine:.1f}× |")
    for tokens in (10, 30):
        cfg = ReducedConfig(tokens=tokens)
        t_loop, v_loop = timed(lambda: reduced_per_component(cfg))
        t_engine, view = timed(lambda: train_to_end(ReducedEngine(cfg)))
        assert np.allclose(view.v[-1], v_loop, atol=1e-10), "the two implementations disagree"
        print(f"| 2, reduced, {tokens} tokens | per-component loop | {cfg.steps} | {t_loop:.3f} | "
              f"{cfg.steps / t_loop:,.0f} | |")
        print(f"| 2, reduced, {tokens} tokens | engine (numpy over components, with recording) | {cfg.steps} | "
              f"{t_engine:.3f} | {cfg.steps / t_engine:,.0f} | {t_loop / t_engine:.1f}× |")
    print("\nDefault runs through the engine (what the CLI does):\n")
    print("| demo | steps | s | steps / s |")
    print("|---|---|---|---|")
    for name, engine_cls, config in (("1, invariant (softmax, linear MLP)", InvariantEngine, InvariantConfig()),
                                     ("1, invariant (ReLU MLP, 64 units)", InvariantEngine,
                                      InvariantConfig(mlp="relu")),
                                     ("2, reduced", ReducedEngine, ReducedConfig()),
                                     ("2, reduced, 30 tokens", ReducedEngine, ReducedConfig(tokens=30))):
        seconds, _ = timed(lambda: train_to_end(engine_cls(config)))
        print(f"| {name} | {config.steps} | {seconds:.2f} | {config.steps / seconds:,.0f} |")


if __name__ == "__main__":
    main()

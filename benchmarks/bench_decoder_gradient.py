"""The decoder's gradient-and-momentum update, dense against sparse, side by side in one run.

∂L/∂Y = Fᵀ G has F [N, M] with only S non-zeros per row (a sample's support) and G [N, C].  The engine
forms it dense, with one batched matmul into the momentum buffer (scansnap_core/scan_snap/engine.py);
this script times that against two sparse forms of the same update, keeping momentum exact:

- dense: scatter F into a dense [R, N, M] tensor, then ``buf.baddbmm_(Fᵀ, G, beta=μ)``;
- sparse COO: ``torch.sparse.mm`` of a COO Fᵀ [R·M, R·N] (nnz = R·N·S) with G, then ``buf.mul_(μ).add_``;
- index_add: ``buf.mul_(μ)``, then one ``index_add_`` of the R·N·S rows v·G into the flattened buffer;
- momentum only: ``buf.mul_(μ)``, the floor every exact form pays.

    python benchmarks/bench_decoder_gradient.py

One torch thread; milliseconds per update, best of 3 after a warm-up.  Prints Markdown.
"""

from __future__ import annotations

import platform
import time
import warnings

import torch

warnings.filterwarnings("ignore", message=".*Sparse.*")  # torch's beta notices about sparse tensors

#: (runs R, batch N, vocabulary M = columns C, support S): the Fig. 6 10-query group, then one run at growing M
SHAPES = [(160, 128, 240, 21), (16, 128, 1000, 21), (4, 128, 2000, 21), (1, 128, 5000, 21), (1, 128, 5000, 200)]


def updates(R: int, N: int, M: int, S: int) -> dict:
    C = M
    g = torch.Generator().manual_seed(0)
    keys = torch.stack([torch.randperm(M, generator=g)[:S] for _ in range(R * N)]).view(R, N, S)
    vals, G, buf = torch.rand(R, N, S, generator=g), torch.randn(R, N, C, generator=g), torch.zeros(R, M, C)
    rows = (keys + (torch.arange(R) * M).view(R, 1, 1)).reshape(-1)

    def dense():
        hist = torch.zeros(R, N, M).scatter_add_(2, keys, vals)
        buf.baddbmm_(hist.transpose(1, 2), G, beta=0.9)

    def sparse_coo():
        cols = torch.arange(R * N).repeat_interleave(S)
        Ft = torch.sparse_coo_tensor(torch.stack([rows, cols]), vals.reshape(-1), (R * M, R * N))
        buf.mul_(0.9).add_(torch.sparse.mm(Ft, G.reshape(R * N, C)).view(R, M, C))

    def index_add():
        buf.mul_(0.9)
        buf.view(R * M, C).index_add_(0, rows, (vals.unsqueeze(-1) * G.unsqueeze(2)).reshape(-1, C))

    def momentum_only():
        buf.mul_(0.9)

    return {"dense (the engine)": dense, "sparse COO": sparse_coo, "index_add": index_add,
            "momentum only": momentum_only}


def best_ms(update) -> float:
    update()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        update()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    torch.set_num_threads(1)
    print(f"{platform.platform()}, torch {torch.__version__}, one thread; ms per update (best of 3)\n")
    names = list(updates(1, 2, 4, 2))
    print("| R | N | M = C | S | " + " | ".join(names) + " |")
    print("|---:|---:|---:|---:|" + "---:|" * len(names))
    for R, N, M, S in SHAPES:
        cells = [f"{best_ms(u):.1f}" for u in updates(R, N, M, S).values()]
        print(f"| {R} | {N} | {M:,} | {S} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()

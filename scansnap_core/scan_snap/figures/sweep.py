"""The learning-rate sweep's figures (docs/THEORY.md §7, Fig. 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ...lab import figure_style as style
from ...lab.figure_style import SERIES, VIRIDIS

__all__ = ["sweep_entropy", "sweep_heatmap"]


def sweep_entropy(summary: pd.DataFrame) -> go.Figure:
    """The paper's Fig. 6: final distinct-token entropy against η_Y/η_Z (log axis), one line per
    η_Z with ± one standard deviation over seeds, one panel per number of query tokens.
    ``summary`` is :func:`~scansnap_core.scan_snap.sweep.summarize_sweep`'s table."""
    panels = sorted(summary["num_query"].unique()) if len(summary) else []
    n = max(1, len(panels))
    gap = 0.04
    width = (1 - gap * (n - 1)) / n
    traces, layout = [], dict(title=dict(text="Final distinct-token entropy vs η_Y/η_Z (mean ± std over seeds)"),
                              legend=dict(title=dict(text="η_Z")), annotations=[])
    eta_zs = sorted(summary["eta_z"].unique()) if len(summary) else []
    for p, q in enumerate(panels):
        suffix = "" if p == 0 else str(p + 1)
        x0 = p * (width + gap)
        ratios = sorted(summary["ratio"].unique())
        layout[f"xaxis{suffix}"] = dict(domain=[x0, x0 + width], type="log", anchor=f"y{suffix}",
                                        tickvals=ratios, ticktext=[f"{r:g}" for r in ratios],
                                        title=dict(text="η_Y / η_Z"))
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", matches="y" if p else None,
                                        title=dict(text="entropy (nats)") if p == 0 else None)
        layout["annotations"].append(dict(text=f"{q} query token{'s' if q > 1 else ''}", x=x0 + width / 2, y=1.0,
                                          xref="paper", yref="paper", showarrow=False, yanchor="bottom"))
        part = summary[summary["num_query"] == q]
        for c, ez in enumerate(eta_zs):
            line = part[part["eta_z"] == ez].sort_values("ratio")
            if not len(line):
                continue
            traces.append(dict(type="scatter", x=style.f32(line["ratio"]), y=style.f32(line["entropy_mean"]),
                               error_y=dict(type="data", array=style.f32(line["entropy_std"]), visible=True),
                               mode="lines+markers", line=dict(color=SERIES[c % len(SERIES)]), name=f"{ez:g}",
                               legendgroup=f"{ez:g}", showlegend=p == 0, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                               hovertemplate=f"{q} query, η_Z = {ez:g}<br>η_Y/η_Z = %{{x:g}}<br>"
                                             "entropy = %{y:.3f} ± %{error_y.array:.3f}<extra></extra>"))
    return style.figure(traces, layout)


def sweep_heatmap(table: pd.DataFrame, value: str, title: str, num_query: int, zmax: float | None = None) -> go.Figure:
    """One column of the sweep table (mean over the seeds where it is defined) over η_Y/η_Z (columns) × η_Z
    (rows) for one number of query tokens: the grid's own axes, so every cell of a full grid is filled (over
    η_Y × η_Z a fixed ratio is a diagonal and most cells are empty).  The hover gives η_Y too and says in how
    many seeds the value exists (an event such as the snap may be missing).  Empty cells: not in the grid, or
    no seed has the value."""
    part = table[table["num_query"] == num_query]
    cells = part.groupby(["eta_z", "ratio"])[value] if len(part) else None
    if cells is None:
        grid = present = runs = pd.DataFrame()
    else:
        grid, present, runs = (cells.agg(how).unstack("ratio") for how in ("mean", "count", "size"))
    z = style.f32(grid.to_numpy()) if len(grid) else np.zeros((0, 0), dtype=np.float32)
    if len(grid):
        eta_y = np.outer(grid.index.to_numpy(float), grid.columns.to_numpy(float))
        info = np.stack([present.to_numpy(), runs.to_numpy(), eta_y], -1).astype(np.float32)
    else:
        info = None
    label = value.replace("_", " ")
    heat = dict(type="heatmap", z=z, x=[f"{v:g}" for v in grid.columns], y=[f"{v:g}" for v in grid.index],
                colorscale=VIRIDIS, zmin=0, zmax=zmax, colorbar=dict(title=dict(text=label)), customdata=info,
                hovertemplate="η_Y/η_Z = %{x}, η_Z = %{y} (η_Y = %{customdata[2]:.3g})<br>" + label
                              + " = %{z:.3f}<br>"
                              "defined in %{customdata[0]} of %{customdata[1]} seeds<extra></extra>",
                xgap=1, ygap=1)
    return style.figure([heat], dict(title=dict(text=title),
                                     xaxis=dict(title=dict(text="η_Y / η_Z"), type="category"),
                                     yaxis=dict(title=dict(text="η_Z"), type="category")))

"""Compare (A/B): two runs on the same data (docs/THEORY.md §7, Fig. 5)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ...lab import figure_style as style
from ..compare import record_at
from ..results import RunData, attended_distinct
from .run import _group_axis, _support_columns, _token_matrix
from .tokens import MAX_HEATMAP_CLASSES

__all__ = ["attention_difference"]


def attention_difference(a: RunData, b: RunData, step: int | None = None) -> go.Figure:
    """c_A − c_B over the attention heatmap's columns (common | distinct of class 1 | …), a
    diverging scale centred at 0; cells of distinct tokens attended only by A, only by B or by
    both (:func:`~scansnap_core.scan_snap.compare.compare_runs`) are labelled "A", "B", "AB"."""

    rec_a, rec_b = record_at(a, step), record_at(b, step)
    layout = a.layout
    classes = list(range(min(layout.K, MAX_HEATMAP_CLASSES)))
    tokens, groups = _support_columns(layout, classes)
    z = _token_matrix(layout, rec_a.attention[a.run] - rec_b.attention[b.run], classes, tokens)
    seen_a, _ = attended_distinct(a, rec_a)
    seen_b, _ = attended_distinct(b, rec_b)
    code = seen_a.astype(int) + 2 * seen_b.astype(int)  # 1 only A, 2 only B, 3 both
    cells = np.nan_to_num(_token_matrix(layout, code, classes, tokens)).astype(int)  # NaN off-support -> ""
    label = np.array(["", "A", "B", "AB"], dtype=object)[cells]
    c_a = _token_matrix(layout, rec_a.attention[a.run], classes, tokens)
    c_b = _token_matrix(layout, rec_b.attention[b.run], classes, tokens)
    bound = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.0
    bound = bound if bound > 0 else 1e-6  # an all-zero difference still needs a colour range
    heat = dict(type="heatmap", z=z, y=[f"class {n + 1}" for n in classes], colorscale=style.DIVERGING,
                zmin=-bound, zmax=bound, zmid=0, text=label, texttemplate="%{text}",
                colorbar=dict(title=dict(text="c_A − c_B")),
                customdata=np.stack([np.broadcast_to(tokens, z.shape).astype(np.float32), c_a, c_b], -1),
                hovertemplate="%{y}, token %{customdata[0]}<br>c_A = %{customdata[1]:.4f}, "
                              "c_B = %{customdata[2]:.4f}<br>c_A − c_B = %{z:.4f}<br>attended by %{text}"
                              "<extra></extra>")
    axis, lines = _group_axis(groups)
    more = f"first {len(classes)} of {layout.K} classes" if layout.K > len(classes) else ""
    return style.figure([heat], dict(title=style.title(f"Attention difference c_A − c_B at step {rec_a.step}", more),
                                     xaxis=axis, yaxis=dict(autorange="reversed"), shapes=lines))

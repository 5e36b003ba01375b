"""Scan & Snap Lab — home page.

A minimal page over `scansnap_core` until the Live Lab dashboard lands: pick a preset,
train it, and compare the measured snapping step with the theory's t0′ and t0.
"""

import pandas as pd
import plotly.express as px
import streamlit as st

from scansnap_core.config import PRESETS, ConfigError, preset
from scansnap_core.results import cli_command, train

st.set_page_config(page_title="Scan & Snap Lab", layout="wide")
st.title("Scan & Snap Lab")
st.caption(
    "How a 1-layer transformer's attention first *scans* (drops common tokens, then distinct tokens in "
    "order of increasing co-occurrence) and then *snaps* (freezes) — Tian, Wang, Chen, Du, NeurIPS 2023."
)

with st.sidebar:
    name = st.selectbox("Preset", list(PRESETS), index=0, help="Configurations from the paper's experiments")
    base = preset(name)
    steps = st.number_input("Steps", min_value=1, max_value=5000, value=base.train.steps, step=10)
    eta_y = st.number_input("η_Y (decoder learning rate)", min_value=0.0001, max_value=1000.0,
                            value=base.train.eta_y, format="%g")
    eta_z = st.number_input("η_Z (attention learning rate)", min_value=0.0, max_value=1000.0,
                            value=base.train.eta_z, format="%g")
    seed = st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=base.train.seed)

try:
    cfg = base.replace(steps=int(steps), eta_y=float(eta_y), eta_z=float(eta_z), seed=int(seed))
except ConfigError as exc:
    st.error(str(exc))
    st.stop()

st.write(f"Vocabulary M = **{cfg.vocab_size}**, classes K = **{cfg.num_classes}**, η_Y/η_Z = **{cfg.eta_ratio:g}**")
if st.button("Train", type="primary"):
    bar = st.progress(0.0, text="Training…")
    result = train(cfg, progress=lambda done, total: bar.progress(done / total, text=f"step {done}/{total}"))
    bar.empty()
    st.success(result.summary_text())
    metrics = result.metrics
    left, right = st.columns(2)
    left.plotly_chart(px.line(metrics.dropna(subset=["entropy_distinct"]), x="step", y="entropy_distinct",
                              title="Distinct-token entropy of c_n (nats)"), width="stretch")
    speed = px.line(metrics, x="step", y="dz_norm", title="Attention-logit speed ‖ΔZ‖ per step",
                    labels={"dz_norm": "‖ΔZ‖"})
    marks = [(result.summary["t0_prime"], "t0′", "dot"), (result.summary["t0"], "t0", "dash")]
    if result.summary["snap_step"] is not None:
        marks.append((result.summary["snap_step"], "measured", "solid"))
    for x, label, dash in marks:
        if x <= metrics["step"].max():
            speed.add_vline(x=x, line_dash=dash, line_color="#555", annotation_text=label)
    right.plotly_chart(speed, width="stretch")
    att = result.tables["attention"]
    final = att[(att["step"] == att["step"].max()) & (att["class"] == 0)]
    bars = px.bar(final, x=final["token"].astype(str), y="attention", color="kind",
                  title="Final attention c_n of class 0 over its support",
                  labels={"x": "token id (common first, then distinct by increasing P(l|n))"})
    bars.update_xaxes(type="category")
    st.plotly_chart(bars, width="stretch")
    st.code(cli_command(cfg), language="bash")
    st.download_button("Metrics (CSV)", metrics.to_csv(index=False), file_name="metrics.csv")

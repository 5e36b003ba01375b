"""The Live Lab's views of a run: KPIs, captions on the measured events, the charts, the
secondary view picker and the export panel."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import streamlit as st

from scansnap_core.lab.numbers import loss_text
from scansnap_core.lab.runner import Snapshot
from scansnap_core.scan_snap import figures
from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.events import SNAP_FRACTION, SPEED_WINDOW
from scansnap_core.scan_snap.explain import KPIS, LOOK_FOR, VIEWS
from scansnap_core.scan_snap.fields import field_bounds
from scansnap_core.scan_snap.results import (Composition, RunData, cli_command, cli_token_command, composition_at_snap,
                                             event_notes)

from .animation_export import animation_export
from .export_settings import figure_pack_button
from .live_chart import live_chart
from .url_state import KEEP

#: rows kept in live heatmaps and line charts (records are thinned evenly beyond this)
LIVE_RECORDS = 240


def phase_caption(snap: Snapshot, data: RunData, full: RunData | None = None) -> None:
    """What the run's measured events say so far, beside the SGD theory's times, where the run leaves
    the theory's assumptions, and at a snap the attended tokens (``full``: the whole run, when
    ``data`` is a replayed part of it)."""
    if snap.step == 0:
        st.caption("Ready: attention starts uniform over each class's tokens (zero init) or near it (default init).")
        return
    events, theory, gaps = event_notes(data)
    st.caption(f"{events} {theory}")
    at_snap = composition_at_snap(data)
    if at_snap is not None:
        where = f"step {data.snap_step}" + (f", record of step {at_snap.step}" if at_snap.step != data.snap_step else "")
        if full is None:  # unchanged since the snap by the snap's own rule
            st.caption(f"Attended distinct tokens since the snap ({where}): {at_snap.describe()}.")
        else:  # a replay: what the rest of the run did with them
            final = Composition.of(full, full.latest)
            later = ("still the same at the end of the run" if at_snap.tokens == final.tokens else
                     f"they had changed by the end of the run to {final.describe()}")
            st.caption(f"Attended distinct tokens at the snap ({where}): {at_snap.describe()}; {later} "
                       f"(step {final.step}).")
    if gaps:
        st.caption(f":material/info: {gaps}")


#: a common-token logit rise (mean z(t) − z(0)) that the finite-T note points out
COMMON_RISE = 0.01


def finite_t_note(data: RunData) -> None:
    """Where a sampled run contradicts the page's headline (its common tokens' logits rise instead of
    dropping: too few tokens per sequence for the class's support), say why and offer the theorem's
    setting (T → ∞) or a longer T."""
    t = data.config.train
    change = data.common_logit_change
    if t.mode != "sgd" or change is None or change <= COMMON_RISE:
        return
    support = int((data.layout.support_prob > 0).sum(axis=1).max())
    longer = min(field_bounds("seq_len")[1], 8 * t.seq_len)
    st.warning(f"Here the common tokens' attention logits **rose** (by {change:+.2f} on average since step 0), while "
               f"the theory has them drop. That is a finite-T effect: a sequence of T = {t.seq_len} tokens samples a "
               f"class spread over {support} tokens too sparsely to follow P(l|n), and the theorem takes T → ∞. "
               "Try the T → ∞ mode (the theorem's setting) or a longer T.", icon=":material/info:")
    c1, c2, _ = st.columns([1, 1, 2])
    # buttons inside a live fragment: their callbacks set the sidebar's values, then a full rerun redraws it
    if c1.button("Switch to T → ∞ mode", key="finite_t_expected", on_click=st.session_state.update,
                 kwargs={"mode": "expected"}, help="mode = expected: the deterministic class-averaged update"):
        st.rerun()
    if longer > t.seq_len and c2.button(f"Use T = {longer:,}", key="finite_t_longer", on_click=st.session_state.update,
                                        kwargs={"seq_len": longer}, help="A longer sequence samples P(l|n) better"):
        st.rerun()


def events_line(data: RunData) -> str:
    """One short line: the measured scan peak and snap (for pages that show several runs)."""
    ev = data.events
    peak = "—" if ev.scan_peak_step is None else f"step {ev.scan_peak_step}"
    snapped = "not yet" if ev.snap_step is None else f"step {ev.snap_step}"
    adam = " · Adam: outside the SGD theory" if data.config.train.optimizer == "adam" else ""
    return f"Scan peak: {peak} · Snap: {snapped}{adam}"


def kpis(snap: Snapshot, data: RunData) -> None:
    c = st.columns([1.1, 0.9, 1.2, 1, 1])
    c[0].metric("Step", f"{snap.step:,} / {snap.total_steps:,}")
    c[1].metric("Loss", loss_text(float(data.losses[-1])) if len(data.losses) else "—", help=KPIS["loss"])
    c[2].metric("Distinct-token entropy", f"{float(data.latest.entropy_distinct[0]):.4f} nats", help=KPIS["entropy"])
    ev = data.events
    c[3].metric("Scan peak", "—" if ev.scan_peak_step is None else f"step {ev.scan_peak_step}",
                help=f"Step of fastest attention movement: the peak of the {SPEED_WINDOW}-step mean of ‖ΔZ‖. "
                     "None while it still rises, or when it was highest in its first window (no interior peak).")
    c[4].metric("Snap", "not yet" if ev.snap_step is None else f"step {ev.snap_step}",
                help=f"First step from which ‖ΔZ‖ stays below {SNAP_FRACTION:.0%} of its peak, the attended "
                     f"distinct tokens stay the same, and the logits travel at most {SNAP_FRACTION:.0%} of their "
                     "path in the next as many steps. Shown once the run reaches twice that step.")


def thin(data: RunData, keep: int = LIVE_RECORDS) -> RunData:
    """At most `keep` records, evenly spread (live charts stay light on long runs; the events are
    those of the whole data)."""
    if len(data.records) <= keep:
        return data
    idx = np.unique(np.linspace(0, len(data.records) - 1, keep).round().astype(int))
    return replace(data, records=tuple(data.records[i] for i in idx))


def shown_query(data: RunData) -> int:
    """The query whose logits the page shows: that of the class picked for the second row."""
    cls = min(int(st.session_state.get("view_class") or 0), data.layout.K - 1)
    return int(data.layout.psi[cls])


def main_charts(data: RunData) -> None:
    """The attention heatmap beside the logit trajectories (live or replayed data)."""
    shown = thin(data)
    query = shown_query(data)
    log_steps = bool(st.session_state.get("log_steps"))
    left, right = st.columns(2)
    with left:
        live_chart(figures.attention_heatmap(shown), key="v_attention", filename="attention", height=MAIN_HEIGHT)
    with right:
        z_limit = LOGIT_AXES.get(st.session_state.get("logit_axis", "auto"))
        live_chart(figures.logit_trajectories(shown, query, log_steps=log_steps, z_limit=z_limit), key="v_logits",
                   filename="logits", uirevision=f"logits-{query}-{log_steps}-{z_limit}", height=MAIN_HEIGHT)
    # the explanations in a row of their own, so both charts start at the same height
    left, right = st.columns(2)
    with left:
        how_to_read("attention")
    with right:
        how_to_read("logit_trajectories")


def how_to_read(view: str) -> None:
    """The view's one-line caption and, folded, the paragraph for a reader new to the paper
    (scansnap_core/scan_snap/explain.py; the figure pack's captions.md says the same)."""
    e = VIEWS[view]
    st.caption(e.short)
    with st.expander("How to read this"):
        st.markdown(e.more)


def look_for() -> None:
    with st.expander("What to look for", icon=":material/visibility:"):
        st.markdown(LOOK_FOR)


def second_row(data: RunData) -> None:
    """One secondary view at a time, picked by the user (drawing every view on each refresh would halve the
    refresh rate)."""
    shown = thin(data)
    cls = secondary_picker(data.layout.K)
    choice = st.session_state.get("secondary_view") or SECONDARY[0]
    if choice == "Attention history":
        fig, name = figures.attention_history(shown, cls), "attention-history"
    elif choice == "Theory vs experiment":
        log_steps = bool(st.session_state.get("log_steps"))
        fig, name = figures.theory_vs_experiment(shown, cls, log_steps=log_steps), "theory-vs-experiment"
    else:
        fig, name = figures.decoder_panel(shown), "decoder"
    live_chart(fig, key="v_secondary", filename=name, uirevision=f"{name}-{cls}")
    how_to_read(name.replace("-", "_"))  # file names use '-', the explanations the figure pack's '_' names


#: height of the two main charts: with the compact page top they fit a 1280 × 720 screen below the KPIs
MAIN_HEIGHT = 350
SECONDARY = ("Attention history", "Theory vs experiment", "Decoder")
#: the logit chart's y axis: auto-scaled or a fixed ±limit
LOGIT_AXES = {"auto": None, "±0.5": 0.5, "±1": 1.0, "±2": 2.0, "±5": 5.0}


def secondary_picker(num_classes: int) -> int:
    """Which secondary view, and for which class (outside the live fragment)."""
    c1, c2, c3, c4 = st.columns([2.7, 1.1, 1, 1])
    c1.segmented_control("Second row", SECONDARY, default=SECONDARY[0], **KEEP, key="secondary_view",
                         help="The history heatmap (the paper's Fig. 4), the growth factor beside the theory's "
                              "bounds, or the decoder's correct-token logit, probability and loss")
    c2.toggle("Log step axis", **KEEP, key="log_steps", help="Spread out the first steps (scanning) in the logit and "
                                                     "theory charts; they then start at step 1")
    c3.selectbox("Logit axis", list(LOGIT_AXES), **KEEP, key="logit_axis",
                 help="A fixed z_ml axis, to compare runs by eye: auto-scaled, a run whose logits barely move "
                      "looks like one whose logits move a lot")
    if num_classes <= 1:
        return 0
    return c4.selectbox("Class", list(range(num_classes)), format_func=lambda n: f"class {n + 1}",
                        **KEEP, key="view_class", help="Class shown in the history and theory views")


def export_panel(data: RunData, summary: dict, cfg: RunConfig) -> None:
    """Figure pack (zip) download, the reproducing command and the run's animation."""
    from scansnap_core.scan_snap.export import figure_pack  # kaleido is loaded only when exporting

    c1, c2 = st.columns([1, 3])
    figure_pack_button(c1, lambda style: (data.latest.step, figure_pack(data, summary, style=style)), "scansnap",
                       "pack", help="PNG (2x) and SVG of every view, metrics as CSV and Parquet, config JSON, CLI "
                                    "command")
    c2.code(cli_command(cfg), language="bash")
    c2.caption("The same run as one compact token:")
    c2.code(cli_token_command(cfg), language="bash")
    query = shown_query(data)  # the animation shows the logits the page shows
    animation_export(partial(figures.write_animation, data, query=query), "scansnap", data.latest.step, "animation",
                     run=(cfg, query))

"""What every page with a background sweep shares (the Fig. 6 sweep, the real-text learning-rate comparison): where
sweeps train (the server's setting), whether the server may start one now, the Run/Cancel button pair, and the
job's progress or outcome.  One job per session
and page, tracked by the sessions registry (the watchdog cancels it when its tab falls silent)."""

from __future__ import annotations

import io
from typing import Callable

import pandas as pd
import streamlit as st

from scansnap_core.lab.distributed import BACKEND_ENV, Backend, server_backend
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.jobs import SweepJob

from .plain import plain
from . import sessions


def refusal(owner_id: str, memory_bytes: int) -> str | None:
    """Why the server cannot start this sweep now: a training slot, the memory budget, the sweep slots."""
    reason = sessions.REGISTRY.refusal(owner_id, memory_bytes)
    running = sessions.REGISTRY.sweeps_running(excluding=owner_id)
    if reason is None and running >= sessions.REGISTRY.max_sweeps:
        most = sessions.REGISTRY.max_sweeps
        reason = (f"Server busy: {running} sweep{'s' if running > 1 else ''} running, at most {most} "
                  "at once (SCANSNAP_MAX_SWEEPS). Try again when it has finished.")
    return reason


def _start(job_key: str, owner_id: str, make_job: Callable[[], SweepJob], memory_bytes: int) -> None:
    """Start the sweep (a callback: the page then draws Cancel in the same run)."""
    reason = refusal(owner_id, memory_bytes)
    if reason:
        st.session_state[job_key + "_busy"] = reason
        return
    job = make_job()
    st.session_state[job_key] = job
    sessions.REGISTRY.track_sweep(owner_id, job)


def _cancel(job_key: str) -> None:
    job = st.session_state.get(job_key)
    if job is not None:
        job.cancel(wait=0)  # the job stops before its next chunk; the page shows "cancelled" when it has


def backend() -> Backend:
    """The sweep backend whoever runs the server chose ($SCANSNAP_SWEEP_BACKEND, $DASK_SCHEDULER_ADDRESS): a
    browser never picks one (a scheduler runs the pickled code it is sent).  A bad setting falls back to local
    with a message."""
    try:
        chosen = server_backend()
    except ConfigError as err:
        st.warning(f"Server setting ignored: {plain(err)}. Sweeps train on this server.")
        return Backend()
    if not chosen.available:
        st.warning(f"{BACKEND_ENV} = dask, but this server has no dask installed (pip install -r "
                   "requirements-dask.txt). Sweeps train on this server.")
        return Backend()
    return chosen


def where(chosen: Backend) -> str:
    """Where this server's sweeps train, for a caption."""
    if chosen.kind == "local":
        return "Sweeps train on this server."
    place = f"the Dask cluster at {chosen.scheduler}" if chosen.scheduler else \
        f"a Dask cluster of {chosen.workers} worker processes started on this server"
    return f"Sweeps train on {place} (the server's setting), one task per group of runs."


def run_button(container, job_key: str, owner_id: str, make_job: Callable[[], SweepJob], memory_bytes: int,
               label: str, key_prefix: str, cancel_label: str = "Cancel", disabled: bool = False) -> None:
    """Run (or, while this session's job runs, Cancel) into ``container``, keyed ``key_prefix`` + run/cancel; a
    refusal is shown under it."""
    job: SweepJob | None = st.session_state.get(job_key)
    if job is not None and job.running:
        container.button("Cancelling…" if job.cancelling else cancel_label, icon=":material/stop:", width="stretch",
                         on_click=_cancel, args=(job_key,), key=key_prefix + "cancel", disabled=job.cancelling)
    else:
        container.button(label, type="primary", icon=":material/play_arrow:", width="stretch", disabled=disabled,
                         on_click=_start, args=(job_key, owner_id, make_job, memory_bytes), key=key_prefix + "run")
    busy = st.session_state.pop(job_key + "_busy", None)
    if busy:
        st.warning(busy)


def job_status(job: SweepJob, owner_id: str, job_key: str) -> None:
    """The job's progress while it runs (and a mark that this tab still watches it), else how it ended; when it has
    just ended, one rerun so the buttons leave their running state."""
    sessions.REGISTRY.touch_sweep(owner_id)
    if job.running:
        left = job.remaining_seconds()
        basis = "at the measured speed" if job.measured else "estimated"
        st.progress(min(1.0, job.done / job.total),
                    text=f"{job.done:,.0f} of {job.total:,} runs · {job.seconds():.0f} s · about {left:,.0f} s left "
                         f"({basis})")
    elif job.status == "finished":
        st.success(f"Finished {job.total:,} runs in {job.seconds():.1f} s.")
    elif job.status == "cancelled":
        st.warning(f"Cancelled after {int(job.done):,} of {job.total:,} runs ({job.seconds():.0f} s); the results "
                   "keep the runs that finished.")
    else:
        st.error("The sweep failed: " + plain(job.error.splitlines()[0]))
        with st.expander("Details"):
            st.code(job.error)
    was_running = job_key + "_was_running"
    if job.running:
        st.session_state[was_running] = True
    elif st.session_state.pop(was_running, False):
        st.rerun()  # leave live mode: the buttons and tables switch to the finished state


def download_table(table: pd.DataFrame, label: str, file_stem: str, key_prefix: str) -> None:
    """A sweep's table as CSV and as Parquet, two download buttons side by side."""
    parquet = io.BytesIO()
    table.to_parquet(parquet, index=False)
    c1, c2, _ = st.columns([1, 1, 3])
    c1.download_button(f"⬇ {label} (CSV)", table.to_csv(index=False).encode(), f"{file_stem}.csv", "text/csv",
                       key=key_prefix + "csv")
    c2.download_button(f"⬇ {label} (Parquet)", parquet.getvalue(), f"{file_stem}.parquet",
                       "application/vnd.apache.parquet", key=key_prefix + "parquet")

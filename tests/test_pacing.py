"""Live-refresh pacing (scansnap_app/pacing.py): intervals follow the measured cost of a refresh
and the number of live sessions, and a running fragment can re-time itself in the browser."""

import pytest
from streamlit.testing.v1 import AppTest

from scansnap_app import pacing


def test_interval_is_the_base_on_an_idle_server_and_grows_with_sessions_and_cost():
    p = pacing.Pacer("t", base=0.1, share=0.2)
    assert p.interval(1) == 0.1  # nothing measured yet
    p.record(0.01)
    assert p.interval(1) == 0.1  # 1 × 0.01 / 0.2 = 0.05 s is below the base
    assert p.interval(8) == pytest.approx(0.4)  # 8 × 0.01 / 0.2
    assert p.interval(0) == 0.1  # a fragment declared before its run counts as one session
    p.record(0.06)  # running mean: 0.8 × 0.01 + 0.2 × 0.06 = 0.02
    assert p.cost == pytest.approx(0.02)
    assert p.interval(8) == pytest.approx(0.8)


def test_a_run_is_timed_even_when_it_ends_by_an_exception():
    p = pacing.Pacer("t", base=0.1, share=0.2)
    with pytest.raises(RuntimeError):
        with p.timed():
            raise RuntimeError("st.rerun ends a fragment run by raising")
    assert p.cost > 0


def test_retimed_only_beyond_the_drift_factor_either_way():
    p = pacing.Pacer("t", base=0.1, share=0.2, cost=0.05)  # 4 sessions: 1.0 s
    assert p.retimed(1.0, 4) is None
    assert p.retimed(0.9, 4) is None  # within DRIFT
    assert p.retimed(0.5, 4) == pytest.approx(1.0)  # slower by 2×
    assert p.retimed(3.0, 4) == pytest.approx(1.0)  # faster by 3×: the load went away
    assert p.retimed(0.1, 1) == pytest.approx(0.25)  # one session: 0.05 / 0.2


def _retiming_app():
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from scansnap_app import pacing

    ctx = get_script_run_ctx()
    sent = []
    enqueue = ctx.enqueue

    def spy(msg):
        if msg.WhichOneof("type") == "auto_rerun":
            sent.append((msg.auto_rerun.fragment_id, round(msg.auto_rerun.interval, 3)))
        enqueue(msg)

    ctx.enqueue = spy
    st.session_state["outside"] = pacing.retime_this_fragment(3.0)

    @st.fragment(run_every=0.25)
    def live():
        st.session_state["inside"] = pacing.retime_this_fragment(2.5)

    live()
    st.session_state["sent"] = sent


def test_a_running_fragment_retimes_its_own_automatic_reruns():
    """Checks the Streamlit internals the re-timing relies on (pinned streamlit==1.67.0): the same
    auto-rerun message as the declaration, for the same fragment, with the new interval."""
    at = AppTest.from_function(_retiming_app, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["outside"] is False  # outside a fragment nothing is sent
    assert at.session_state["inside"] is True
    (declared_id, declared), (retimed_id, retimed) = at.session_state["sent"]
    assert declared_id == retimed_id and declared_id
    assert (declared, retimed) == (0.25, 2.5)


def _keep_pace_app():
    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from scansnap_app import pacing

    ctx = get_script_run_ctx()
    sent = []
    enqueue = ctx.enqueue
    ctx.enqueue = lambda msg: (sent.append(round(msg.auto_rerun.interval, 3))
                               if msg.WhichOneof("type") == "auto_rerun" else None, enqueue(msg))
    pacer = pacing.Pacer("probe", base=0.1, share=0.2, cost=0.01)
    every = pacing.declared(pacer, live_sessions=1)  # 0.1 s on an idle server

    @st.fragment(run_every=every)
    def live():
        pacer.cost = 0.05  # the server got busy: 8 sessions × 0.05 / 0.2 = 2 s
        pacing.keep_pace(pacer, live_sessions=8)
        pacing.keep_pace(pacer, live_sessions=8)  # already in step: nothing more is sent

    live()
    st.session_state["sent"] = sent
    st.session_state["now"] = st.session_state["_pacing_probe_every"]


def test_keep_pace_retimes_once_when_the_server_gets_busy():
    at = AppTest.from_function(_keep_pace_app, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["sent"] == [0.1, 2.0]
    assert at.session_state["now"] == pytest.approx(2.0)

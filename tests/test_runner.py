"""The UI-free background runner: controls, snapshots, failures, cleanup."""

import threading
import time

import numpy as np
import pytest
import torch

from scansnap_core.fields import ConfigError
from scansnap_core.presets import preset
from scansnap_core.runner import Runner, Status


def quick(**kw):
    return preset("syn-small", batch_size=16, seq_len=24, **{"steps": 40, **kw})


def test_runs_to_completion_and_joins():
    runner = Runner(quick())
    runner.start()
    assert runner.wait(60) == Status.FINISHED
    snap = runner.snapshot()
    assert snap.step == 40 and len(snap.losses) == 40 and snap.latest.step == 40
    assert snap.message == "Finished 40 steps."
    runner.stop()
    assert not any(t.name == "scansnap-runner" for t in threading.enumerate())


def test_pause_single_step_resume_and_reset():
    runner = Runner(quick(steps=10_000), delay=0.002)
    runner.step_once()
    runner.step_once()
    deadline_ok = runner.wait(0.5)  # paused runs are not done
    assert deadline_ok == Status.PAUSED
    for _ in range(100):
        if runner.snapshot().step == 2:
            break
        threading.Event().wait(0.01)
    assert runner.snapshot().step == 2
    runner.start()
    threading.Event().wait(0.2)
    runner.pause()
    paused_at = runner.snapshot().step
    threading.Event().wait(0.1)
    assert runner.snapshot().step == paused_at > 2
    runner.reset()
    snap = runner.snapshot()
    assert snap.step == 0 and snap.status == Status.IDLE and len(snap.records) == 1
    runner.stop()


def test_snapshots_are_consistent_while_training():
    runner = Runner(quick(steps=400))
    runner.start()
    steps = []
    while runner.status == Status.RUNNING:
        snap = runner.snapshot()
        assert len(snap.losses) == snap.step == len(snap.dz_norms)
        assert all(r.step <= snap.step for r in snap.records)
        steps.append(snap.step)
        threading.Event().wait(0.001)  # a poller, like the page; a busy spin would starve the worker's lock
    assert steps == sorted(steps)
    runner.stop()


def test_worker_exception_becomes_an_error_status():
    runner = Runner(quick())

    def boom(n=1):
        raise RuntimeError("injected failure")

    runner.engine.step = boom
    runner.start()
    assert runner.wait(10) == Status.ERROR
    snap = runner.snapshot()
    assert "injected failure" in snap.message and "RuntimeError" in snap.error
    runner.reset()  # a failed run can be reset and run again
    runner.start()
    assert runner.wait(60) == Status.FINISHED


def test_divergence_stops_with_a_clear_message():
    runner = Runner(quick())
    runner.step_once()
    runner.wait(0.3)
    with torch.no_grad():
        runner.engine.Z.fill_(float("inf"))
    runner.start()
    assert runner.wait(10) == Status.DIVERGED
    assert "diverged at step 2" in runner.snapshot().message and "Lower eta_y" in runner.snapshot().message


def test_live_learning_rates_are_validated():
    runner = Runner(quick())
    with pytest.raises(ConfigError, match="eta_y = -2"):
        runner.set_learning_rates(eta_y=-2)
    runner.set_learning_rates(eta_y=3.0)
    assert runner.config.train.eta_y == 3.0 == runner.engine.config.train.eta_y
    runner.start()
    assert runner.wait(60) == Status.FINISHED
    assert np.isfinite(runner.snapshot().losses).all()


def test_single_steps_requested_while_paused_do_not_run_after_a_later_pause():
    runner = Runner(quick(steps=100_000), delay=0.001)
    runner.pause()
    for _ in range(5):
        runner.step_once(wait=0.0)
    runner.start()
    threading.Event().wait(0.1)
    runner.pause()
    threading.Event().wait(0.1)
    at_pause = runner.snapshot().step
    threading.Event().wait(0.3)
    assert runner.snapshot().step == at_pause
    runner.stop()


def test_concurrent_trainers_share_the_interpreter_and_one_alone_never_pauses():
    from scansnap_core.runner import TRAINERS

    a, b = Runner(preset("syn-small", steps=100_000)), Runner(preset("syn-small", steps=100_000, seed=3))
    try:
        a.start()
        deadline = time.monotonic() + 30
        while TRAINERS.count() < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert TRAINERS.count() == 1 and TRAINERS.fair_pause(0.01) == 0.0
        b.start()
        while TRAINERS.count() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert TRAINERS.count() == 2
        assert TRAINERS.fair_pause(0.01) == pytest.approx(0.01 * (2 / 0.75 - 1))  # together busy 75 % of the time
        a.pause()
        while TRAINERS.count() > 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert TRAINERS.count() == 1
    finally:
        a.stop()
        b.stop()
    assert TRAINERS.count() == 0

"""The UI-free background runner: controls, snapshots, failures, cleanup."""

import threading
import time

import numpy as np
import pytest
import torch

from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.runner import Runner, Status
from scansnap_core.lab.trainable import Plan
from scansnap_core.scan_snap.engine import live_runner
from scansnap_core.scan_snap.presets import preset


def quick(**kw):
    return preset("syn-small", batch_size=16, seq_len=24, **{"steps": 40, **kw})


def test_runs_to_completion_and_joins():
    others = set(threading.enumerate())
    runner = live_runner(quick())
    runner.start()
    assert runner.wait(60) == Status.FINISHED
    snap = runner.snapshot()
    assert snap.step == 40 and len(snap.data.losses) == 40 and snap.data.latest.step == 40
    assert snap.message == "Finished 40 steps."
    runner.stop()
    assert not any(t.name == "scansnap-runner" for t in set(threading.enumerate()) - others)


def test_pause_single_step_resume_and_reset():
    runner = live_runner(quick(steps=10_000), delay=0.002)
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
    assert snap.step == 0 and snap.status == Status.IDLE and len(snap.data.records) == 1
    runner.stop()


def test_snapshots_are_consistent_while_training():
    runner = live_runner(quick(steps=400))
    runner.start()
    steps = []
    while runner.status == Status.RUNNING:
        snap = runner.snapshot()
        assert len(snap.data.losses) == snap.step == len(snap.data.dz_norms)
        assert all(r.step <= snap.step for r in snap.data.records)
        steps.append(snap.step)
        threading.Event().wait(0.001)  # a poller, like the page; a busy spin would starve the worker's lock
    assert steps == sorted(steps)
    runner.stop()


def test_worker_exception_becomes_an_error_status():
    runner = live_runner(quick())

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
    runner = live_runner(quick())
    runner.step_once()
    runner.wait(0.3)
    with torch.no_grad():
        runner.engine.Z.fill_(float("inf"))
    runner.start()
    assert runner.wait(10) == Status.DIVERGED
    assert "diverged at step 2" in runner.snapshot().message and "Lower eta_y" in runner.snapshot().message


def test_live_changes_are_the_learning_rates_only():
    runner = live_runner(quick())
    with pytest.raises(ConfigError, match="eta_y = -2"):
        runner.retune(runner.config.replace(eta_y=-2))
    with pytest.raises(ConfigError, match="only learning-rate changes while training"):
        runner.retune(runner.config.replace(eta_y=3.0, seed=9))
    assert runner.retune(runner.config.replace(eta_y=3.0)) == "learning rates η_Y = 3, η_Z = 1 from step 1"
    assert runner.config.train.rate_changes == ((1, 3.0, 1.0),) == runner.engine.config.train.rate_changes
    assert runner.config.train.eta_y == 1.0  # the run's starting rate: the change is recorded beside it
    runner.start()
    assert runner.wait(60) == Status.FINISHED
    assert np.isfinite(runner.snapshot().data.losses).all()


def test_single_steps_requested_while_paused_do_not_run_after_a_later_pause():
    runner = live_runner(quick(steps=100_000), delay=0.001)
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
    from scansnap_core.lab.fair_share import TRAINERS

    a, b = live_runner(preset("syn-small", steps=100_000)), live_runner(preset("syn-small", steps=100_000, seed=3))
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


class Counter:
    """A study the runner has never seen: any engine with the Trainable protocol trains in the background."""

    def __init__(self, config: dict):
        self.config, self.step_count, self.finished = config, 0, False
        self.memory_bytes = config.get("memory", 0)

    @property
    def total_steps(self) -> int:
        return self.config["steps"]

    def step(self) -> None:
        if self.step_count + 1 == self.config.get("fail_at"):
            raise RuntimeError("boom")
        self.step_count += 1

    def divergence(self):
        if self.step_count == self.config.get("divergence_fails_at"):
            raise ValueError("no divergence check")
        bad = self.config.get("diverge_at")
        return (bad, "count less.") if bad is not None and self.step_count >= bad else None

    def finish(self) -> None:
        self.finished = True

    def view(self, step: int) -> list[int]:
        return list(range(1, step + 1))

    def retune(self, config: dict) -> str:
        if set(config) != set(self.config) or config["steps"] != self.config["steps"]:
            raise ConfigError("config", config, "only rate changes while training")
        self.config = config
        return f"rate {config['rate']}"


def test_the_runner_trains_any_engine_with_the_trainable_protocol():
    runner = Runner({"steps": 5, "rate": 1}, build=Counter)
    runner.step_once(wait=5)
    snap = runner.snapshot()
    assert (snap.step, snap.data, snap.total_steps, snap.status) == (1, [1], 5, Status.PAUSED)
    assert runner.retune({"steps": 5, "rate": 2}) == "rate 2" and runner.config == {"steps": 5, "rate": 2}
    with pytest.raises(ConfigError):
        runner.retune({"steps": 6, "rate": 2})
    runner.start()
    assert runner.wait(10) == Status.FINISHED and runner.engine.finished
    assert runner.snapshot().data == [1, 2, 3, 4, 5] and runner.snapshot().message == "Finished 5 steps."

    diverging = Runner([{"steps": 9}, {"steps": 9, "diverge_at": 3}], build=Counter)
    diverging.start()
    assert diverging.wait(10) == Status.DIVERGED
    assert diverging.snapshot().message == "Training diverged at step 3 in run B: count less."

    failing = Runner({"steps": 9, "fail_at": 4}, build=Counter)
    failing.start()
    assert failing.wait(10) == Status.ERROR and failing.snapshot().step == 3
    assert failing.snapshot().message == "Training failed at step 4: RuntimeError: boom"
    with pytest.raises(ConfigError, match="the same number of steps"):
        Runner([{"steps": 3}, {"steps": 4}], build=Counter)
    for r in (runner, diverging, failing):
        r.stop()


def test_the_server_cap_and_the_watchdog_hold_for_any_study():
    """The sessions registry counts and reaps a lab whatever its runner trains (here the Counter study)."""
    from scansnap_app.sessions import Registry

    registry = Registry(max_training=1, idle_ttl=60)
    lab = registry.lab("a", lambda: Runner({"steps": 10**9, "rate": 1}, build=Counter))
    assert registry.lab("a", lambda: pytest.fail("a second runner")) is lab  # one lab per id
    lab.runner.start()
    deadline = time.monotonic() + 10
    while lab.runner.snapshot().step == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert registry.training_count() == 1 and not registry.may_start("b") and registry.may_start("a")
    assert lab.sync({"steps": 10**9, "rate": 2}).endswith(": rate 2.") and lab.pending is None  # a live change
    assert lab.sync({"steps": 5, "rate": 2}) is None and lab.pending == {"steps": 5, "rate": 2}  # waits for Reset
    assert registry.reap(now=time.monotonic() + 61) == ["a"]  # the tab fell silent
    assert lab.runner.status == Status.STOPPED and registry.training_count() == 0



class SlowCounter(Counter):
    """A Counter whose steps wait for the test to release them: a step that takes as long as the test wants."""

    def __init__(self, config: dict):
        super().__init__(config)
        self.release, self.entered, self.threads = config["release"], threading.Event(), set()

    def step(self) -> None:
        self.threads.add(threading.get_ident())
        self.entered.set()
        self.release.wait(30)
        super().step()


def test_reset_mid_step_returns_at_once_and_never_starts_a_second_worker():
    """Reset during a long step used to wait 10 s for it, then start a second worker beside the old one,
    and both trained the new run."""
    others = set(threading.enumerate())
    release = threading.Event()
    runner = Runner({"steps": 3, "release": release}, build=SlowCounter)
    old = runner.engine
    runner.start()
    assert old.entered.wait(10)
    runner.reset()  # the old step is still blocked: reset must not wait for it
    assert not release.is_set() and runner.snapshot().step == 0 and runner.snapshot().status == Status.IDLE
    new = runner.engine
    runner.start()
    workers = [t for t in threading.enumerate() if t not in others and t.name == "scansnap-runner"]
    assert workers == [runner._thread]  # still the one worker, busy with the dropped step
    release.set()
    assert runner.wait(30) == Status.FINISHED and runner.snapshot().step == 3
    assert new.threads == old.threads and len(new.threads) == 1  # the same single worker trained both
    assert old.step_count == 1  # the dropped step ended and changed nothing the page shows
    runner.stop()
    assert runner._thread is None


def test_stop_mid_step_then_reset_reuses_the_worker_once_the_step_ends():
    others = set(threading.enumerate())
    release = threading.Event()
    runner = Runner({"steps": 2, "release": release}, build=SlowCounter)
    runner.start()
    assert runner.engine.entered.wait(10)
    runner.stop(timeout=0.05)  # the watchdog's stop: the worker is inside a long step
    assert runner.status == Status.STOPPED and runner._thread is not None
    runner.reset()
    runner.start()
    release.set()
    assert runner.wait(30) == Status.FINISHED
    assert len([t for t in threading.enumerate() if t not in others and t.name == "scansnap-runner"]) <= 1
    runner.stop()



def test_the_server_memory_budget_counts_every_lab_and_running_sweep():
    """The per-run cap alone admitted four runs of 2 GB estimated (30 GB measured) on a 24 GB machine."""
    from scansnap_app.sessions import Registry

    MB = 2**20
    registry = Registry(max_training=10, idle_ttl=60, max_memory=1000 * MB)
    registry.lab("a", lambda: Runner({"steps": 5, "memory": 600 * MB}, build=Counter))  # held, never started
    b = registry.lab("b", lambda: Runner({"steps": 5, "memory": 300 * MB}, build=Counter))
    assert registry.memory_in_use() == 900 * MB and registry.may_start("b", b.runner.memory_bytes)
    assert registry.refusal("c", 200 * MB) == (
        "Server memory full: other sessions hold 900 MB of training memory, this run needs 200 MB, and the server "
        "allows 1,000 MB (SCANSNAP_MAX_SERVER_MEMORY_MB). Try a smaller run, or again when a session has closed.")
    assert registry.may_start("a", 600 * MB) and registry.may_start("c", 100 * MB)
    registry.reap(now=time.monotonic() + 61)  # the tabs closed: their memory is free again
    assert registry.memory_in_use() == 0 and registry.may_start("c", 1000 * MB)



def test_pause_mid_step_answers_at_once_and_says_it_is_finishing_the_step():
    """Pause during a long step used to block the click for the whole step (11.8 s in the probe)."""
    release = threading.Event()
    runner = Runner({"steps": 3, "release": release}, build=SlowCounter)
    runner.start()
    assert runner.engine.entered.wait(10)
    runner.pause(timeout=0)
    snap = runner.snapshot()
    assert not release.is_set() and (snap.status, snap.message) == (Status.PAUSED, "Pausing: finishing step 1…")
    release.set()
    deadline = time.monotonic() + 10
    while runner.snapshot().message != "Paused at step 1." and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (runner.snapshot().step, runner.snapshot().message) == (1, "Paused at step 1.")
    runner.stop()



def test_a_failing_divergence_check_is_a_run_error_and_the_runner_can_start_again():
    """Study code the worker calls after a step (divergence, finish) used to end the worker silently, with
    the run still 'running' and no worker to resume it."""
    runner = Runner({"steps": 9, "divergence_fails_at": 2}, build=Counter)
    runner.start()
    assert runner.wait(10) == Status.ERROR
    assert runner.snapshot().message == "Training failed at step 2: ValueError: no divergence check"
    runner.reset({"steps": 3})
    runner.start()
    assert runner.wait(10) == Status.FINISHED
    runner.stop()


def test_a_large_run_is_built_when_it_first_trains_and_release_gives_its_memory_back():
    """Four tabs opened on a large run (never started) took the server from 1.1 GB to 4.0 GB."""
    built, gate = [], threading.Event()

    def build(cfg: dict) -> Counter:
        built.append(cfg)
        if cfg.get("build_fails"):
            raise RuntimeError("no room")
        if cfg.get("slow_build"):
            gate.wait(30)
        return Counter(cfg)

    def plan(cfg: dict) -> Plan:
        if cfg["memory"] > 1000:
            raise ConfigError("memory", cfg["memory"], "at most 1000")
        return Plan(cfg["memory"], cfg["steps"])

    small = Runner({"steps": 3, "memory": 50}, build=build, plan=plan, build_now_below=100)
    assert small.built and small.memory_held == 50 and len(built) == 1  # small runs show their step 0 at once
    large = Runner({"steps": 3, "memory": 500}, build=build, plan=plan, build_now_below=100)
    snap = large.snapshot()
    assert not large.built and len(built) == 1 and (large.memory_held, large.memory_bytes) == (0, 500)
    assert (snap.step, snap.total_steps, snap.data, snap.config) == (0, 3, None, {"steps": 3, "memory": 500})
    with pytest.raises(ConfigError):
        large.reset({"steps": 3, "memory": 5000})  # refused by its plan: nothing changes, nothing is built
    assert large.config == {"steps": 3, "memory": 500} and len(built) == 1
    large.step_once(wait=5)
    assert large.built and large.memory_held == 500 and large.snapshot().data == [1] and len(built) == 2
    large.release()  # what the watchdog does to a silent page's run
    assert not large.built and large.memory_held == 0 and large.snapshot().data is None
    assert large.status == Status.STOPPED and large.snapshot().message == "Stopped at step 1. Its memory was released."
    large.reset()
    large.start()
    assert large.wait(10) == Status.FINISHED and large.snapshot().data == [1, 2, 3] and len(built) == 3

    slow = Runner({"steps": 3, "memory": 500, "slow_build": True}, build=build, plan=plan, build_now_below=100)
    slow.start()
    deadline = time.monotonic() + 10
    while slow.snapshot().message != "Building the run (about 0 MB)…" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slow.busy and slow.snapshot().message == "Building the run (about 0 MB)…"
    slow.pause(timeout=0)
    assert slow.snapshot().message == "Pausing: building the run first…" and slow.busy
    gate.set()
    while slow.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert slow.built and (slow.snapshot().step, slow.snapshot().message) == (0, "Paused at step 0.")

    failing = Runner({"steps": 3, "memory": 500, "build_fails": True}, build=build, plan=plan, build_now_below=100)
    failing.start()
    assert failing.wait(10) == Status.ERROR and not failing.built
    assert failing.snapshot().message == "Building the run failed: RuntimeError: no room"
    for r in (small, large, slow, failing):
        r.stop()
    assert all(r._thread is None for r in (small, large, slow, failing))


def test_the_server_budget_counts_built_runs_and_a_silent_page_gives_its_memory_back():
    from scansnap_app.sessions import Registry

    MB = 2**20
    registry = Registry(max_training=10, idle_ttl=60, max_memory=1000 * MB)
    plan = lambda cfg: Plan(cfg["memory"], cfg["steps"])  # noqa: E731
    for sid in "abcd":  # four tabs opened on a large run, none started
        registry.lab(sid, lambda: Runner({"steps": 5, "memory": 600 * MB}, build=Counter, plan=plan,
                                         build_now_below=100 * MB))
    assert registry.memory_in_use() == 0 and registry.may_start("a", 600 * MB)
    a = registry.get("a")
    a.runner.step_once(wait=5)
    assert registry.memory_in_use() == 600 * MB and not registry.may_start("b", 600 * MB)
    registry.reap(now=time.monotonic() + 61)
    assert registry.memory_in_use() == 0 and not a.runner.built


def test_a_run_pauses_by_itself_at_the_steps_asked_for_and_says_why():
    runner = Runner({"steps": 20}, build=Counter)
    runner.pause_at({3: "t0′", 7: "t0"})
    runner.start()
    deadline = time.monotonic() + 10
    for step, why in ((3, "t0′"), (7, "t0")):
        while runner.status == Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.005)
        snap = runner.snapshot()
        assert (snap.status, snap.step, snap.message) == (Status.PAUSED, step,
                                                          f"Paused at step {step}: {why}. Press Resume to go on.")
        runner.start()
    assert runner.wait(10) == Status.FINISHED and runner.snapshot().step == 20
    runner.reset()
    runner.pause_at({}, when=lambda engine: "twelve" if engine.step_count >= 12 else None)  # once per run
    runner.start()
    deadline = time.monotonic() + 10
    while runner.status == Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.005)
    assert runner.snapshot().message == "Paused at step 12: twelve. Press Resume to go on."
    runner.start()
    assert runner.wait(10) == Status.FINISHED
    runner.reset()
    runner.pause_at({})
    runner.start()
    assert runner.wait(10) == Status.FINISHED  # turned off: straight through
    runner.stop()

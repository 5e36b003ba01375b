"""Resource caps (issue 5): configurable by environment, enforced in the core, explained in the UI."""

import pytest
from streamlit.testing.v1 import AppTest

from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.limits import LIMITS, Limits
from scansnap_core.scan_snap import memory
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.memory import estimate_memory_bytes
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.sweep import MAX_SWEEP_RUNS, fig6_configs

from test_live_lab import APP

pytestmark = pytest.mark.usefixtures("fresh_registry")


def test_limits_come_from_the_environment_and_bad_values_are_named():
    assert Limits.from_env({}) == Limits()
    got = Limits.from_env({"SCANSNAP_MAX_VOCAB": "500", "SCANSNAP_MAX_RUN_MEMORY_MB": "64"})
    assert (got.max_vocab, got.max_run_memory_mb, got.max_steps) == (500, 64, Limits().max_steps)
    for bad in ("lots", "0", "-3"):
        with pytest.raises(ValueError, match=f"SCANSNAP_MAX_STEPS = '{bad}' is invalid: allowed a positive integer"):
            Limits.from_env({"SCANSNAP_MAX_STEPS": bad})
    # the session caps are parsed here too, with the same kind of message (they were bare int() calls)
    got = Limits.from_env({"SCANSNAP_MAX_TRAINING": "2", "SCANSNAP_IDLE_TTL": "15.5"})
    assert (got.max_training, got.idle_ttl) == (2, 15.5)
    for name, bad, allowed in (("SCANSNAP_MAX_TRAINING", "four", "a positive integer"),
                               ("SCANSNAP_MAX_TRAINING", "2.5", "a positive integer"),
                               ("SCANSNAP_IDLE_TTL", "-1", "a positive number"),
                               ("SCANSNAP_IDLE_TTL", "nan", "a positive number")):
        with pytest.raises(ValueError, match=f"{name} = '{bad}' is invalid: allowed {allowed}"):
            Limits.from_env({name: bad})


def test_the_core_enforces_vocab_steps_sweep_size_and_memory(monkeypatch):
    with pytest.raises(ConfigError, match=f"vocab_size = .* is invalid: allowed M <= {LIMITS.max_vocab}"):
        preset("large", distinct_per_class=250)  # M = 100 x 250 + 102 > 20,000
    with pytest.raises(ConfigError, match=f"steps = {LIMITS.max_steps + 1} is invalid"):
        preset("syn-small", steps=LIMITS.max_steps + 1)
    with pytest.raises(ConfigError, match=f"sweep size = .* is invalid: allowed at most {MAX_SWEEP_RUNS} runs"):
        fig6_configs(seeds=range(MAX_SWEEP_RUNS))
    big = preset("large", init="default", distinct_per_class=180)  # M = 18,102: Y alone is M x M floats
    assert estimate_memory_bytes(big) > LIMITS.max_run_memory_mb * 2**20
    with pytest.raises(ConfigError, match=r"estimated memory in MB = 2706 is invalid: allowed at most 2,048 per run "
                                          r"\(SCANSNAP_MAX_RUN_MEMORY_MB\).*init = zero"):
        Engine(big)
    monkeypatch.setattr(memory, "LIMITS", Limits(max_run_memory_mb=76))
    with pytest.raises(ConfigError, match="estimated memory in MB = 80 is invalid"):
        Engine(preset("syn-small", batch_size=1024))
    Engine(preset("syn-small"))  # 74 MB: fine


def test_the_live_lab_shows_the_estimate_the_limits_and_refuses_an_over_limit_run(monkeypatch, fresh_registry):
    from scansnap_app import controls

    small = Limits(max_run_memory_mb=76)
    monkeypatch.setattr(memory, "LIMITS", small)
    monkeypatch.setattr(controls, "LIMITS", small)
    at = AppTest.from_file(APP, default_timeout=120).run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Estimated training memory for this run: 74 MB (measured peaks are 67–100 % of such estimates; server " \
           "limit 76 MB a run)" in captions
    assert "Server limits: M ≤ 20,000" in captions and "at most 4 sessions train at once" in captions
    at.select_slider(key="batch_size").set_value(1024).run()
    assert not at.exception
    assert any("estimated memory in MB = 80 is invalid: allowed at most 76 per run" in e.value for e in at.error)
    (lab,) = fresh_registry._labs.values()
    assert lab.runner.config == preset("syn-small")  # the last valid configuration is kept


def test_a_raised_step_cap_reaches_the_steps_widget_and_the_url():
    """SCANSNAP_MAX_STEPS = 2,000,000: a shared URL with steps=1500000 opens with 1,500,000 steps (the
    widget's maximum was hard-coded to 1,000,000, and the value fell back to 1).  A fresh interpreter,
    since the caps are read once at import."""
    import subprocess
    import sys

    script = ("from streamlit.testing.v1 import AppTest\n"
              f"at = AppTest.from_file({APP!r}, default_timeout=120)\n"
              "at.query_params.update({'steps': '1500000'})\n"
              "at.run()\n"
              "print('STEPS', at.number_input(key='steps').value, not at.exception)\n")
    env = {**__import__("os").environ, "SCANSNAP_MAX_STEPS": "2000000"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert "STEPS 1500000 True" in out.stdout, out.stdout + out.stderr

"""Load test: 8 concurrent real browser sessions against one server (benchmarks/bench_load.py,
with a 10 s watch to keep the suite short).  Refresh rates and CPU are printed, never
asserted: the machine is shared.  Skips where no chromium is installed."""

import sys

from browser_helpers import ROOT, needs_chromium

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_load import report, run_load  # noqa: E402

pytestmark = needs_chromium


def test_eight_sessions_each_see_their_own_run_and_the_server_returns_to_rest(browser):
    result = run_load(sessions=8, seconds=10, browser=browser, say=lambda m: print(m, flush=True))
    print("\n" + report(result))
    for s in result.sessions:
        assert s.final_step > s.step_at_watch > 0, f"session {s.index + 1}'s run did not advance"
        assert s.saw_zero_before_start, f"session {s.index + 1}'s run started before its own Start click"
        assert s.total_steps == 100_000 + s.index, f"session {s.index + 1} shows another session's run"
        assert s.seed_shown == str(s.seed), f"session {s.index + 1} shows seed {s.seed_shown}"
        assert not s.errors, f"session {s.index + 1}: {s.errors}"
    assert result.trainers_peak == 8
    assert result.reaped_after_s is not None and result.trainers_after == 0, "trainers left after the tabs closed"
    assert result.idle_cpu_percent < 5, f"server still busy after close: {result.idle_cpu_percent:.1f}% CPU"
    assert result.rss_after <= 1.2 * result.rss_baseline, (
        f"server RSS {result.rss_after:.0f} MiB after close vs baseline {result.rss_baseline:.0f} MiB")
    assert not result.log_problems, "\n".join(result.log_problems)

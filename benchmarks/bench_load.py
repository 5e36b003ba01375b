"""Load test: N concurrent real browser sessions against one `streamlit run app.py`.

Each session (its own browser context in one headless Chromium) opens the Live Lab with its own
seed and step count, presses Start, and is watched for --seconds while its "Step" KPI refreshes
are counted inside the page (20 ms poll, as in bench_ui.py); then every tab is closed and the
server must return to rest.  Checks:

- isolation: before its own Start click a page still shows step 0 although the earlier pages are
  training, and afterwards its Step KPI shows *its* run's total (100,000 + i, from the run's
  config) and its sidebar shows its URL's seed;
- every run advanced during the watch; no page errors or console errors;
- no "Traceback"/"Error"/"Exception" line in the server log;
- after the tabs close: no thread named "scansnap-runner" left in the server, no trainer in the
  registry, no Streamlit session, the server's CPU idle, its RSS within 20% of the baseline.

The server is started through this file (`_serve` mode): a daemon probe thread inside the
server process writes the names of its Python threads and the registry's lab count to a JSON
file every 0.5 s, then Streamlit's own CLI runs `streamlit run app.py` (OS thread names do not
carry Python's, so the trainers could not be seen from outside).  The app itself is unchanged.

    python benchmarks/bench_load.py [--sessions 8] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from browsing import CHROMIUM_ARGS, KPI_COUNTER, STEP_ABOVE_ZERO

ROOT = Path(__file__).resolve().parents[1]
TRAINER_THREAD = "scansnap-runner"  # scansnap_core/lab/runner.py names its worker threads so
BASE_STEPS = 100_000  # session i trains BASE_STEPS + i steps: its Step KPI names its own run
LOG_PROBLEM = re.compile(r"Traceback|\bError\b|Exception")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- the server process
def _serve(probe_path: str, streamlit_args: list[str]) -> None:
    """Run inside the server process: start the probe thread, then hand over to `streamlit run`."""

    def probe() -> None:
        while True:
            sessions = sys.modules.get("scansnap_app.sessions")  # imported by the page script
            pacing = sys.modules.get("scansnap_app.pacing")
            live = sessions.REGISTRY.training_count() if sessions else 0
            state = {"threads": [t.name for t in threading.enumerate()],
                     "labs": sessions.REGISTRY.active_sessions() if sessions else None,
                     "memory_held": sessions.REGISTRY.memory_in_use() if sessions else 0,
                     "pacing": {kind: {"cost": pacer.cost, "interval": pacer.interval(live)}
                                for kind, pacer in (("kpi", pacing.KPI), ("chart", pacing.CHART))}
                     if pacing else {}}
            tmp = probe_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(state, f)
            os.replace(tmp, probe_path)  # readers never see half a file
            time.sleep(0.5)

    threading.Thread(target=probe, name="bench-load-probe", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *streamlit_args]
    sys.exit(cli.main())


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path
    probe: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole server process (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15 of stat

    def os_threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def probe_state(self) -> dict:
        return json.loads(self.probe.read_text())

    def trainer_threads(self) -> int:
        return self.probe_state()["threads"].count(TRAINER_THREAD)

    def streamlit_sessions(self) -> int:
        text = urllib.request.urlopen(self.url + "/_stcore/metrics?families=active_sessions", timeout=10).read()
        match = re.search(r"^active_sessions (\d+)", text.decode(), re.M)
        return int(match.group(1)) if match else -1

    def log_problems(self) -> list[str]:
        """Each problem line of the server log with the 25 lines after it (the traceback)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return ["\n".join(lines[i:i + 26]) for i, line in enumerate(lines) if LOG_PROBLEM.search(line)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(workdir: Path, max_training: int, idle_ttl: float, session_ttl: int) -> Server:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log, probe = workdir / "streamlit.log", workdir / "probe.json"
    env = {**os.environ, "SCANSNAP_MAX_TRAINING": str(max_training), "SCANSNAP_IDLE_TTL": str(idle_ttl)}
    args = ["--server.port", str(port), "--server.headless", "true", "--server.disconnectedSessionTTL",
            str(session_ttl)]
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, __file__, "_serve", str(probe), *args], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log, probe)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(server.url + "/_stcore/health", timeout=2).read() == b"ok" and probe.exists():
                return server
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    server.stop()
    raise RuntimeError("streamlit did not become healthy:\n" + log.read_text())


def wait_until(condition, timeout: float, every: float = 1.0) -> float | None:
    """Seconds until `condition()` held, or None if it never did within `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(every)
    return None


def cpu_percent(server: Server, seconds: float) -> float:
    """The server's CPU use over the next `seconds`, in % of one core."""
    c0, t0 = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return 100 * (server.cpu_seconds() - c0) / (time.monotonic() - t0)


def server_at_rest(server: Server) -> bool:
    return server.trainer_threads() == 0 and server.probe_state()["labs"] == 0 and server.streamlit_sessions() == 0


# ---------------------------------------------------------------- the browser sessions
@dataclass
class Session:
    index: int
    context: object
    page: object
    errors: list[str] = field(default_factory=list)  # uncaught page errors and console errors
    saw_zero_before_start: bool = False
    step_at_watch: int = 0
    final_step: int = 0
    total_steps: int = 0
    seed_shown: str = ""
    refreshes_per_s: float = 0.0

    @property
    def seed(self) -> int:
        return self.index + 1

    @property
    def url_path(self) -> str:
        return f"/?preset=syn-small&steps={BASE_STEPS + self.index}&seed={self.seed}"

    def step_kpi(self) -> tuple[int, int]:
        text = self.page.get_by_test_id("stMetricValue").first.inner_text()
        done, total = (int(part.strip().replace(",", "")) for part in text.split("/"))
        return done, total

    @property
    def isolated(self) -> bool:
        return (self.saw_zero_before_start and self.total_steps == BASE_STEPS + self.index
                and self.seed_shown == str(self.seed))


def open_session(browser, url: str, index: int) -> Session:
    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    page = context.new_page()
    session = Session(index, context, page)
    page.on("pageerror", lambda e: session.errors.append(f"pageerror: {e}"))
    page.on("console", lambda m: session.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.goto(url + session.url_path, wait_until="commit")  # not waiting: every page loads at once
    return session


@dataclass
class LoadResult:
    sessions: list[Session]
    seconds: float
    load_cpu_percent: float
    loadavg: tuple[float, float, float]
    rss_first_load: float
    rss_baseline: float
    rss_peak: float
    rss_after: float
    threads_baseline: int
    threads_peak: int
    threads_after: int
    trainers_peak: int
    trainers_after: int
    pacing: dict  # per kind of live refresh: mean cost of a run and the interval, at the end of the watch
    reaped_after_s: float | None
    idle_cpu_percent: float
    log_problems: list[str]

    @property
    def checks(self) -> dict[str, bool]:
        return {
            "every session's run advanced": all(s.final_step > s.step_at_watch > 0 for s in self.sessions),
            "every session saw only its own run": all(s.isolated for s in self.sessions),
            "no page or console errors": not any(s.errors for s in self.sessions),
            f"{len(self.sessions)} trainer threads ran at once": self.trainers_peak == len(self.sessions),
            "no trainer thread, lab or session left after close": self.reaped_after_s is not None
                                                                  and self.trainers_after == 0,
            "server CPU idle after close (< 5% of a core)": self.idle_cpu_percent < 5,
            "server RSS within 20% of baseline after close": self.rss_after <= 1.2 * self.rss_baseline,
            "no Traceback/Error/Exception in the server log": not self.log_problems,
        }


def run_load(sessions: int = 8, seconds: float = 60, idle_ttl: float = 15, session_ttl: int = 5,
             chromium: str | None = None, say=print, browser=None) -> LoadResult:
    """Start a server, drive it, stop it.  ``browser``: a Playwright browser to use (a test's
    session browser: one process cannot run two sync Playwright instances); else one is launched."""
    reap_timeout = idle_ttl + 5 + session_ttl + 45  # TTL + one watchdog period + session TTL + slack for load
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        server = start_server(Path(tmp), max_training=sessions, idle_ttl=idle_ttl, session_ttl=session_ttl)
        try:
            if browser is not None:
                return _drive(server, browser, sessions, seconds, reap_timeout, say)
            from playwright.sync_api import sync_playwright

            chromium = chromium or shutil.which("chromium") or shutil.which("chromium-browser")
            if chromium is None:
                raise RuntimeError("needs Debian's chromium (apt-get install chromium)")
            with sync_playwright() as pw:
                own = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    return _drive(server, own, sessions, seconds, reap_timeout, say)
                finally:
                    own.close()
        finally:
            server.stop()


def _drive(server: Server, browser, n: int, seconds: float, reap_timeout: float, say) -> LoadResult:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # warm-up: the first page load imports torch and plotly, the first run the training and live-chart code
    # paths; the baseline is taken once the warm-up session is gone, so it holds those one-time costs only
    warm = open_session(browser, server.url, 0)
    warm.page.get_by_role("button", name="Start").wait_for(timeout=90_000)
    warm.page.wait_for_timeout(1000)
    rss_first_load = server.rss_mib()
    warm.page.get_by_role("button", name="Start").click()
    warm.page.wait_for_function(STEP_ABOVE_ZERO, timeout=60_000, polling=100)
    warm.page.wait_for_timeout(3000)
    warm.context.close()
    if wait_until(lambda: server_at_rest(server), reap_timeout) is None:
        raise RuntimeError("the warm-up session was never reaped")
    time.sleep(2)
    rss_baseline, threads_baseline = server.rss_mib(), server.os_threads()
    say(f"baseline: RSS {rss_baseline:.0f} MiB ({rss_first_load:.0f} MiB after the first page load), "
        f"{threads_baseline} OS threads")

    sessions = [open_session(browser, server.url, i) for i in range(n)]
    for s in sessions:
        s.page.get_by_role("button", name="Start").wait_for(timeout=120_000)
    for s in sessions:  # all pages ready before any run starts: each must still show step 0 until its own click
        s.page.get_by_text(f"0 / {BASE_STEPS + s.index:,}", exact=True).wait_for(timeout=60_000)
    say(f"{n} pages loaded")
    for s in sessions:
        s.saw_zero_before_start = s.step_kpi() == (0, BASE_STEPS + s.index)  # the earlier pages are training
        s.page.wait_for_timeout(1000)  # let a pending script run finish first (as bench_ui.py and open_page do)
        s.page.get_by_role("button", name="Start").click()
        try:
            s.page.wait_for_function(STEP_ABOVE_ZERO, timeout=90_000, polling=100)
        except PlaywrightTimeout:  # recorded (the run-advanced check fails), not fatal: the rest is still measured
            s.errors.append(f"no step > 0 within 90 s of Start; KPI {s.step_kpi()}, buttons "
                            f"{s.page.get_by_role('button').all_inner_texts()[:8]}")
            say(s.errors[-1])
    say(f"{n} runs started")

    for s in sessions:
        s.page.evaluate(KPI_COUNTER)
        s.step_at_watch = s.step_kpi()[0]
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    rss_peak, threads_peak, trainers_peak = 0.0, 0, 0
    while time.monotonic() - t0 < seconds:
        sessions[0].page.wait_for_timeout(1000)  # lets Playwright deliver page events while we sample
        rss_peak, threads_peak = max(rss_peak, server.rss_mib()), max(threads_peak, server.os_threads())
        trainers_peak = max(trainers_peak, server.trainer_threads())
    elapsed = time.monotonic() - t0
    load_cpu = 100 * (server.cpu_seconds() - cpu0) / elapsed
    loadavg = os.getloadavg()
    for s in sessions:
        s.refreshes_per_s = s.page.evaluate("() => window.__n") / elapsed
        s.final_step, s.total_steps = s.step_kpi()
        s.page.get_by_text("Training", exact=True).click()  # the sidebar expander holding the seed
        s.seed_shown = s.page.get_by_role("spinbutton", name="Seed").input_value()
    rss_peak = max(rss_peak, server.rss_mib())
    pacing = server.probe_state()["pacing"]
    say(f"watched {elapsed:.0f} s; closing the tabs")

    for s in sessions:
        s.context.close()
    reaped = wait_until(lambda: server_at_rest(server), reap_timeout)
    say(f"server at rest {reaped} s after the tabs closed" if reaped is not None else "server NOT at rest")
    idle_cpu = cpu_percent(server, 5)
    return LoadResult(sessions, elapsed, load_cpu, loadavg, rss_first_load, rss_baseline, rss_peak, server.rss_mib(),
                      threads_baseline, threads_peak, server.os_threads(), trainers_peak, server.trainer_threads(),
                      pacing, reaped, idle_cpu, server.log_problems())


def report(r: LoadResult) -> str:
    lines = ["| session | seed | run total steps | step at watch start | final step | KPI refreshes /s | "
             "saw only its own run | errors |", "|---|---|---|---|---|---|---|---|"]
    for s in r.sessions:
        lines.append(f"| {s.index + 1} | {s.seed_shown} | {s.total_steps:,} | {s.step_at_watch:,} | {s.final_step:,} | "
                     f"{s.refreshes_per_s:.1f} | {'yes' if s.isolated else 'NO'} | {len(s.errors)} |")
    rates = [s.refreshes_per_s for s in r.sessions]
    lines += ["", f"- KPI refreshes /s per session: min {min(rates):.1f}, mean {sum(rates) / len(rates):.1f}, "
                  f"max {max(rates):.1f} (watch {r.seconds:.0f} s)",
              f"- server CPU during the load: {r.load_cpu_percent:.0f}% of one core (os.cpu_count() = "
              f"{os.cpu_count()}); load average at the end {r.loadavg[0]:.1f}",
              "- live refresh pacing at the end of the watch (scansnap_app/pacing.py): " + "; ".join(
                  f"{kind} runs cost {p['cost'] * 1000:.0f} ms, every {p['interval']:.1f} s per session"
                  for kind, p in r.pacing.items()),
              f"- server RSS: after the first page load {r.rss_first_load:.0f} MiB; baseline (after a warm-up run's "
              f"session was reaped) {r.rss_baseline:.0f} MiB, peak {r.rss_peak:.0f} MiB, after close "
              f"{r.rss_after:.0f} MiB ({100 * (r.rss_after / r.rss_baseline - 1):+.0f}%)",
              f"- server OS threads: baseline {r.threads_baseline}, peak {r.threads_peak}, after {r.threads_after}; "
              f"'{TRAINER_THREAD}' threads: peak {r.trainers_peak}, after {r.trainers_after}",
              f"- trainers, labs and Streamlit sessions gone {r.reaped_after_s:.0f} s after the tabs closed; "
              f"server CPU then {r.idle_cpu_percent:.1f}% of one core" if r.reaped_after_s is not None
              else "- trainers/labs/sessions NOT all gone after the tabs closed",
              "", "| check | result |", "|---|---|"]
    lines += [f"| {name} | {'pass' if ok else '**FAIL**'} |" for name, ok in r.checks.items()]
    problems = r.log_problems + [e for s in r.sessions for e in s.errors]
    if problems:
        lines += ["", "Problems:", *(f"    {p}" for p in problems[:20])]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=8, help="concurrent browser sessions")
    p.add_argument("--seconds", type=float, default=60.0, help="how long each session watches its run")
    p.add_argument("--idle-ttl", type=float, default=15.0, help="SCANSNAP_IDLE_TTL for the server")
    p.add_argument("--session-ttl", type=int, default=5, help="--server.disconnectedSessionTTL for the server")
    args = p.parse_args()
    result = run_load(args.sessions, args.seconds, args.idle_ttl, args.session_ttl,
                      say=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"# Load: {args.sessions} browser sessions x {args.seconds:.0f} s\n")
    print(f"- {platform.platform()}; os.cpu_count() = {os.cpu_count()}; server, {args.sessions} trainers and "
          "headless Chromium share these cores\n")
    print(report(result))
    sys.exit(0 if all(result.checks.values()) else 1)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_serve":
        _serve(sys.argv[2], sys.argv[3:])
    else:
        main()

"""Memory a server holds for tabs that never train, and what it gives back when tabs close.

The probe behind issue 10: opening ``/?preset=large&init=default&distinct_per_class=132`` in four tabs,
never pressing Start, took the server from 1.1 GB to 4.0 GB, still held 5 minutes after the tabs closed.
Now a run estimated above SCANSNAP_BUILD_ON_OPEN_MB is built only on Start or Step, and the watchdog
releases a closed tab's run SCANSNAP_DISCONNECT_GRACE seconds after its connection closed.

A real `streamlit run app.py` (started as in bench_load.py, with its probe of the sessions registry) and
headless Chromium: the server's resident set (VmRSS) and the registry's held training memory are read

1. after one warm-up visit of the default page (imports and first render done; tab closed),
2. with ``--tabs`` tabs open on the large URL, each showing its page,
3. after those tabs closed and the registry is empty again,
4. with one tab training that run (Start, first step done),
5. after that tab closed and the registry is empty again.

    python benchmarks/bench_open_tabs.py [--tabs 4]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from bench_load import start_server, wait_until
from browsing import CHROMIUM_ARGS

LARGE = "/?preset=large&init=default&distinct_per_class=132"
NOT_BUILT = "built when you press Start"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tabs", type=int, default=4)
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = start_server(Path(tmp), max_training=4, idle_ttl=120, session_ttl=120)
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)

        def record(what: str) -> None:
            time.sleep(2)  # let the allocator settle
            held = server.probe_state()["memory_held"] / 2**20
            rows.append((what, server.rss_mib(), held))

        def drained(timeout: float = 60) -> float | None:
            return wait_until(lambda: server.probe_state()["labs"] == 0, timeout, every=0.5)

        try:
            warm = browser.new_context().new_page()
            warm.goto(server.url + "/")
            warm.get_by_role("button", name="Start").wait_for(timeout=120_000)
            warm.context.close()
            drained()
            record("after one warm-up visit (tab closed)")

            tabs = [browser.new_context().new_page() for _ in range(args.tabs)]
            for tab in tabs:
                tab.goto(server.url + LARGE)
            for tab in tabs:
                tab.get_by_text(NOT_BUILT).wait_for(timeout=120_000)
            record(f"{args.tabs} tabs open on the large run, none started")
            closed = time.monotonic()
            for tab in tabs:
                tab.context.close()
            waited = drained()
            record(f"tabs closed, registry empty after {time.monotonic() - closed:.0f} s" if waited is not None
                   else "tabs closed, registry NOT empty after 60 s")

            tab = browser.new_context().new_page()
            tab.goto(server.url + LARGE)
            tab.get_by_role("button", name="Start").click(timeout=120_000)
            wait_until(lambda: server.probe_state()["memory_held"] > 0 and tab.get_by_text(NOT_BUILT).count() == 0
                       and tab.get_by_test_id("stMetricValue").count() > 0, 300, every=0.5)
            record("1 tab training the large run")
            closed = time.monotonic()
            tab.context.close()
            waited = drained()
            record(f"tab closed, registry empty after {time.monotonic() - closed:.0f} s" if waited is not None
                   else "tab closed, registry NOT empty after 60 s")
        finally:
            browser.close()
            server.stop()

    print(f"Machine: {platform.machine()}, {platform.python_version()}; URL {LARGE}\n")
    print("| state | server RSS (MiB) | training memory held, estimated (MiB) |")
    print("|---|---:|---:|")
    for what, rss, held in rows:
        print(f"| {what} | {rss:,.0f} | {held:,.0f} |")


if __name__ == "__main__":
    main()

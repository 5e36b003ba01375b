"""What the browser benchmarks and the browser tests share: how headless Chromium is launched and
the in-page probes that watch the Live Lab's "Step" KPI."""

# the anti-throttling flags matter: with many pages in one browser, hidden ones would otherwise be slowed down
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
#: counts the changes of the first KPI (the step) in window.__n, polling every 20 ms
KPI_COUNTER = """() => { window.__n = 0; window.__last = '';
  window.__iv = setInterval(() => { const m = document.querySelector('[data-testid=stMetricValue]');
    const s = m ? m.innerText : ''; if (s !== window.__last) { window.__n++; window.__last = s; } }, 20); }"""
#: true once some KPI shows a step above 0 ("12 / 1,000")
STEP_ABOVE_ZERO = ("() => [...document.querySelectorAll('[data-testid=stMetricValue]')]"
                   ".some(e => /^[1-9][0-9,]* \\//.test(e.innerText))")

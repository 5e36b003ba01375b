// In-place Plotly charts for Streamlit (see live_chart.py).
const loading = {};
function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading[src]) {
    loading[src] = new Promise((resolve, reject) => {
      const tag = document.createElement("script");
      tag.src = src;
      tag.onload = () => resolve(window.Plotly);
      tag.onerror = () => { delete loading[src]; reject(new Error("could not load " + src)); };
      document.head.appendChild(tag);
    });
  }
  return loading[src];
}

// Exports use the session's export settings (size, scale, font, titles), never the window's size.
function downloadButton(format, data) {
  const ex = data.export, size = ex.layout.width + "×" + ex.layout.height;
  return {
    name: "Download " + format.toUpperCase(),
    title: format === "png" ? "Download PNG · " + size + " at " + ex.scale + "×" : "Download SVG · " + size + " (vector)",
    icon: window.Plotly.Icons[format === "svg" ? "disk" : "camera"],
    click: (gd) => window.Plotly.downloadImage(
      { data: gd.data, layout: Object.assign({}, gd.layout, ex.layout) },
      { format: format, width: ex.layout.width, height: ex.layout.height, scale: format === "png" ? ex.scale : 1,
        filename: data.filename }),
  };
}

// Redraws yield to the rest of the page: after a redraw that took d ms (paint included) no chart
// redraws for BUSY_FACTOR * d ms, and then only with the newest figure. On a slow machine the
// charts refresh less often while the progress bar and KPIs stay live; a fast one draws them all.
const BUSY_FACTOR = 2;
const state = window.__scansnapCharts = window.__scansnapCharts || { readyAt: 0, draws: [], queue: new Set(), timer: null };

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

async function drawQueued() {
  state.timer = null;
  const [root] = state.queue;
  if (!root) return;
  state.queue.delete(root);
  const job = root.__next;
  const start = performance.now();
  await window.Plotly.react(root, job.fig.data, job.fig.layout, job.config);
  await nextFrame();
  const took = performance.now() - start;
  state.readyAt = performance.now() + BUSY_FACTOR * took;
  state.draws.push([job.name, took]);  // read by benchmarks/bench_ui.py
  if (state.draws.length > 500) state.draws.splice(0, 250);
  schedule();
}

function schedule() {
  if (state.timer || !state.queue.size) return;
  state.timer = setTimeout(drawQueued, Math.max(0, state.readyAt - performance.now()));
}

export default function({ parentElement, data }) {
  const root = parentElement.querySelector(".scansnap-live-chart");
  root.style.height = data.height + "px";
  loadPlotly(data.src).then(() => {
    const fig = JSON.parse(data.figure);
    fig.layout.uirevision = data.uirevision;
    fig.layout.height = data.height;
    const config = {
      responsive: true, displaylogo: false, showSendToCloud: false,
      modeBarButtonsToRemove: ["toImage", "sendDataToCloud"],
      modeBarButtonsToAdd: [downloadButton("png", data), downloadButton("svg", data)],
    };
    root.__next = { fig: fig, config: config, name: data.filename };
    state.queue.add(root);
    schedule();
  }).catch((err) => { root.textContent = "Chart unavailable: " + err.message; });
}

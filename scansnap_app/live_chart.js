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

// Exports use the session's export settings (size, scale, font, titles), never the window's size, and the
// figure's own light colours whatever the page's theme; the user's zoom is kept.
const AXIS = /^[xy]axis\d*$/;
function exported(gd, ex) {
  const layout = Object.assign({}, gd.__light.layout);
  for (const key of Object.keys(gd.layout)) {
    if (AXIS.test(key) && gd.layout[key].autorange === false) {
      layout[key] = Object.assign({}, layout[key], { range: gd.layout[key].range, autorange: false });
    }
  }
  return Object.assign(layout, ex.layout);
}

function downloadButton(format, data) {
  const ex = data.export, size = ex.layout.width + "×" + ex.layout.height;
  return {
    name: "Download " + format.toUpperCase(),
    title: format === "png" ? "Download PNG · " + size + " at " + ex.scale + "×" : "Download SVG · " + size + " (vector)",
    icon: window.Plotly.Icons[format === "svg" ? "disk" : "camera"],
    click: (gd) => window.Plotly.downloadImage(
      { data: gd.__light.data.map((t, i) => Object.assign({}, t, { visible: (gd.data[i] || t).visible })),
        layout: exported(gd, ex) },
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

// On a dark theme the figures keep their data colours but take the page's text colour, a transparent
// background and faint grid lines, and near-black ink (the theory's marks, a black series) turns into the
// text colour (the figures are built for white; exports stay white).
const paint = document.createElement("canvas").getContext("2d");
function luminance(colour) {  // any CSS colour (#rgb, #rrggbbaa, rgb(), names) through the canvas' parser
  paint.fillStyle = "#000";
  paint.fillStyle = String(colour);
  const value = paint.fillStyle;  // "#rrggbb", or "rgba(r, g, b, a)" when translucent
  const rgb = value.startsWith("#") ? [1, 3, 5].map((i) => parseInt(value.slice(i, i + 2), 16))
    : (value.match(/[\d.]+/g) || [0, 0, 0]).slice(0, 3).map(Number);
  return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
}

function inked(holder, part, text) {  // holder with holder[part].color turned to the text colour if near black
  const colour = holder[part] && holder[part].color;
  if (typeof colour !== "string" || luminance(colour) >= 60) return holder;
  return Object.assign({}, holder, { [part]: Object.assign({}, holder[part], { color: text }) });
}

function themed(fig, root) {
  const text = getComputedStyle(root).color, layout = fig.layout;
  if (luminance(text) < 128) return fig;  // dark text: a light theme
  const faint = "rgba(255,255,255,0.14)";
  const out = Object.assign({}, layout, {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: Object.assign({}, layout.font, { color: text }),
    legend: Object.assign({}, layout.legend, { bgcolor: "rgba(0,0,0,0)" }),
    annotations: (layout.annotations || []).map((a) =>
      inked(a.bgcolor ? Object.assign({}, a, { bgcolor: "rgba(14,17,23,0.75)" }) : a, "font", text)),
    shapes: (layout.shapes || []).map((s) => inked(s, "line", text)),
  });
  for (const key of new Set(["xaxis", "yaxis", ...Object.keys(layout).filter((k) => AXIS.test(k))])) {
    out[key] = Object.assign({}, layout[key], { gridcolor: faint, zerolinecolor: faint, linecolor: faint });
  }
  const data = fig.data.map((t) => inked(inked(t, "line", text), "marker", text));
  return { data: data, layout: out };
}

async function drawQueued() {
  state.timer = null;
  const [root] = state.queue;
  if (!root) return;
  state.queue.delete(root);
  const job = root.__next;
  const start = performance.now();
  const shown = themed(job.fig, root);
  await window.Plotly.react(root, shown.data, shown.layout, job.config);
  root.__light = job.light;  // what the downloads start from
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
    const light = data.export.figure ? JSON.parse(data.export.figure) : fig;  // the normal view's, if enlarged
    root.__next = { fig: fig, config: config, name: data.filename, light: light };
    state.queue.add(root);
    schedule();
  }).catch((err) => { root.textContent = "Chart unavailable: " + err.message; });
}

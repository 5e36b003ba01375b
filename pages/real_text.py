"""Real text: the Scan & Snap paper's Sec. 8 on a CPU.  A standard transformer learns English prose while the page
shows its attention turn sparse and stop changing, and a learning-rate comparison draws Fig. 10.  Sidebar form and
corpus picker -> validated config -> a background Runner (and a background comparison job) -> pure figure builders
(scansnap_app/study_page.py; docs/THEORY.md, "Real text")."""


import pandas as pd
import streamlit as st

from scansnap_app import config_form, entry, export_settings, sweep_jobs, url_state
from scansnap_app.live_chart import live_chart
from scansnap_app.plain import plain
from scansnap_app.sessions import new_session_id
from scansnap_app.study_page import study_page
from scansnap_app.url_state import KEEP
from scansnap_core.lab.fields import ConfigError
from scansnap_core.text.config import TextConfig
from scansnap_core.text.corpus import (BUILTIN, MAX_UPLOAD_BYTES, MIN_TOKENS, corpus, is_corpus, register_upload,
                                       upload_files)
from scansnap_core.text.engine import map_choices, plan_text, uniform_entropy
from scansnap_core.text.explain import captions, comparison_caption, kpis
from scansnap_core.text.export import cli_command, figure_pack
from scansnap_core.text.figures import FIGURES, comparison_figure
from scansnap_core.text.results import (comparison_configs, comparison_job, comparison_seconds, comparison_summary,
                                        live_runner)

entry.through_app()

URL_PAGE = "text"
PREFIX = "text_"
CORPUS_KEY = PREFIX + "corpus"
UPLOADS = "text_uploads"  # this session's uploads (corpus names)
COMPARE_JOB = "text_compare_job"
#: learning rates the comparison offers, and its default choice, per optimizer
COMPARE_LRS = {"sgd": ((0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0), [1.0, 3.0, 5.0]),
               "adam": ((1e-4, 3e-4, 1e-3, 3e-3, 1e-2), [1e-4, 1e-3, 1e-2])}
ss = st.session_state
SESSION = ss.setdefault("session_id", new_session_id())


def read_url(params: dict[str, str]) -> tuple[dict, list[str]]:
    return config_form.read_url(TextConfig, PREFIX, "", params)


def _upload() -> None:
    """Register the uploaded file (and the validation file, if any) as a corpus and pick it (a callback, so the
    corpus picker can still change)."""
    text, val = ss.get(PREFIX + "file"), ss.get(PREFIX + "val_file")
    if text is None:
        return
    try:
        name = register_upload(text.name, text.getvalue(), val.name if val is not None else None,
                               val.getvalue() if val is not None else None)
    except ConfigError as err:
        ss[PREFIX + "upload_error"] = str(err)
        return
    ss.setdefault(UPLOADS, []).append(name)
    ss[CORPUS_KEY] = name


def corpus_label(name: str) -> str:
    """A corpus as the picker names it (no session state: Streamlit may format an option outside a run)."""
    if name in BUILTIN:
        return {"topics": "Python help topics", "docstrings": "Standard-library docstrings"}[name]
    return "Your file: " + (" + ".join(upload_files(name)) or name)


st.title("Real text: attention on English prose")
st.caption("The paper's Sec. 8 (Figs. 7 and 10) trains a standard transformer (embeddings, positions, "
           "post-LayerNorm attention and feed-forward layers) with plain SGD on English, and reports that its lowest "
           "layer's attention turns sparse, sparser at larger learning rates, and then stops changing although the "
           "learning rate stays the same. This page trains the same model at CPU size and shows what its attention "
           "does. WikiText cannot be downloaded here, so the text is prose that ships with Python, or a file of your "
           "own.")
url_state.restore(URL_PAGE, read_url)
url_state.show_notices(URL_PAGE)

with st.sidebar.expander("Real text: settings", expanded=True):
    box = st.container()
    ss.setdefault(CORPUS_KEY, TextConfig().corpus)
    uploads = ss.setdefault(UPLOADS, [])  # this session's uploads (corpus names), oldest first
    if ss[CORPUS_KEY] not in BUILTIN and ss[CORPUS_KEY] not in uploads and is_corpus(ss[CORPUS_KEY]):
        uploads.append(ss[CORPUS_KEY])  # a shared link to an upload the server keeps
    for name in [n for n in uploads if not is_corpus(n)]:  # uploads the server has let go of
        uploads.remove(name)
        box.warning(f"The server no longer keeps {plain(' + '.join(upload_files(name)) or name)} (it keeps the "
                    "most recent uploads while it runs): upload it again to train on it.")
    if ss[CORPUS_KEY] not in BUILTIN and ss[CORPUS_KEY] not in uploads:
        ss[CORPUS_KEY] = TextConfig().corpus
    known = [*BUILTIN, *dict.fromkeys(uploads)]
    box.selectbox(TextConfig.FIELDS.labels["corpus"], known, format_func=corpus_label, **KEEP, key=CORPUS_KEY,
                  help=TextConfig.FIELDS.help["corpus"])
    with box.popover("Use your own text", icon=":material/upload_file:", width="stretch"):
        st.file_uploader(f"UTF-8 .txt or .md, up to {MAX_UPLOAD_BYTES // 2**20} MB, at least {MIN_TOKENS:,} "
                         "training tokens (its last 10 % validates)", type=["txt", "md"], key=PREFIX + "file",
                         on_change=_upload, max_upload_size=MAX_UPLOAD_BYTES // 2**20)
        st.file_uploader("Validation text (optional: then no split)", type=["txt", "md"], key=PREFIX + "val_file",
                         on_change=_upload, max_upload_size=MAX_UPLOAD_BYTES // 2**20)
        if PREFIX + "upload_error" in ss:
            st.error(plain(ss.pop(PREFIX + "upload_error")))
        elif ss[CORPUS_KEY] in uploads:
            chosen = corpus(ss[CORPUS_KEY])
            st.success(f"Training on {plain(' + '.join(chosen.files))}: {chosen.tokens_train:,} training and "
                       f"{chosen.tokens_val:,} validation tokens.")
        st.caption("The server keeps the most recent uploads in memory while it runs (the page's link trains on "
                   "the same text while it does); nothing is written to disk.")
    config_form.form(TextConfig, PREFIX, box, fields=tuple(f for f in TextConfig.field_names() if f != "corpus"))
try:
    cfg, error = config_form.current(TextConfig, PREFIX), None
    plan_text(cfg)  # a run too large to build is an invalid setting too
except ConfigError as err:
    cfg, error = None, str(err)
if ss[CORPUS_KEY] == "docstrings":
    with st.spinner("Reading the standard library's docstrings (once per server, a few seconds)…"):
        corpus("docstrings")


def write_url(config: TextConfig, has_run: bool) -> None:
    params = config_form.url_params(config, "")
    url_state.write(params, has_run)


def views(view, replayed) -> None:
    notes = captions(view)
    for column, name in zip(st.columns(2), ("entropy", "drift")):
        with column:
            live_chart(FIGURES[name](view), key=f"text-{name}", filename=f"text-{name}", height=380)
            st.caption(notes[name])
    left, right = st.columns([3, 1])
    chosen = left.multiselect("Attention maps at steps", map_choices(view.config), max_selections=6, **KEEP,
                              key=PREFIX + "map_steps", placeholder="four moments, evenly spaced",
                              help="Pick up to six steps (those not reached yet are left out); none: four moments "
                                   "of the run so far, the latest live")
    layer = 0
    if view.config.layers > 1:
        layer = right.segmented_control("Layer", range(view.config.layers), default=0, **KEEP,
                                        key=PREFIX + "map_layer", format_func=lambda i: f"{i + 1}") or 0
    steps = sorted(s for s in chosen if s <= view.step) or None
    live_chart(FIGURES["maps"](view, layer, steps), key="text-maps", filename="text-attention-maps", height=430)
    st.caption(notes["maps"])
    left, right = st.columns(2)
    with left:
        live_chart(FIGURES["loss"](view), key="text-loss", filename="text-loss", height=340)
        st.caption(notes["loss"])
    with right:
        st.markdown("**This run**")
        facts = {"corpus": corpus_label(view.config.corpus),
                 **{k: v for k, v in view.facts.items() if k != "files"}}
        st.dataframe(pd.DataFrame({"": list(facts), "value": [_fact(v) for v in facts.values()]}), hide_index=True,
                     width="stretch")


def _fact(value) -> str:
    return f"{value:.1%}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)


def export(snapshot) -> None:
    c1, c2 = st.columns([1, 3])
    export_settings.figure_pack_button(
        c1, lambda style: (snapshot.step, figure_pack(snapshot.data, style)), "real-text", PREFIX + "pack",
        help="PNG and SVG of every chart with captions, the tables as CSV and Parquet (attention maps included), "
             "config and summary JSON, and the command")
    c2.code(cli_command(snapshot.config), language="bash")


study_page(f"{SESSION}-text", cfg, error, lambda: live_runner(cfg or TextConfig()), prefix=PREFIX,
           write_url=write_url, kpis=kpis, views=views, export=export,
           animations={name: build for name, build in FIGURES.items() if name != "maps"})  # maps: a layer and steps


# ---------------------------------------------------------------------------------------------------- Fig. 10
st.divider()
st.subheader("Learning-rate comparison (Fig. 10)")
st.caption("The paper trains the same model at several learning rates and finds the final attention entropy lower "
           "at larger ones. This trains the settings above at each chosen learning rate, one run after the other in "
           "the background, and draws what they reach.")
COMPARE_ID = f"{SESSION}-text-compare"
c = st.columns([2, 1, 1, 1.4])
optimizer = cfg.optimizer if cfg is not None else "sgd"
offered, chosen = COMPARE_LRS[optimizer]
lrs = c[0].multiselect(f"Learning rates ({optimizer})", offered, default=chosen, **KEEP,
                       key=PREFIX + f"cmp_lrs_{optimizer}", format_func=lambda v: f"{v:g}")
seeds = c[1].number_input("Seeds", 1, 5, 1, **KEEP, key=PREFIX + "cmp_seeds", help="seeds 0, 1, …, n − 1 per rate")
steps = c[2].number_input("Steps", 20, 5000, 400, step=20, **KEEP, key=PREFIX + "cmp_steps",
                          help="steps of every run (the paper compares after the same number of steps)")
configs = []
if cfg is not None and lrs:
    try:
        configs = comparison_configs(cfg.replace(steps=int(steps)), sorted(lrs), range(int(seeds)))
    except ConfigError as err:
        st.error(f"Invalid comparison: {plain(err)}")
elif not lrs:
    st.error("Learning rates: choose at least one value.")
backend = sweep_jobs.backend()
sweep_jobs.run_button(c[3], COMPARE_JOB, COMPARE_ID, lambda: comparison_job(configs, backend),
                      max((plan_text(x).memory_bytes for x in configs), default=0), "Compare",
                      key_prefix=PREFIX + "cmp_", disabled=not configs)
if configs:
    c[3].caption(f"{len(configs)} runs, about {max(1, round(comparison_seconds(configs)))} s on a free core. "
                 + sweep_jobs.where(backend))
job = ss.get(COMPARE_JOB)


@st.fragment(run_every=0.5 if job is not None and job.running else None)
def comparison() -> None:
    job = ss.get(COMPARE_JOB)
    if job is None:
        st.info("Press **Compare** to train the chosen learning rates.")
        return
    sweep_jobs.job_status(job, COMPARE_ID, COMPARE_JOB)
    table = job.table
    if not len(table):
        return
    summary = comparison_summary(table)
    live_chart(comparison_figure(summary, table, job.configs[0].context), key="text-compare",
               filename="text-lr-comparison", height=400)
    st.caption(comparison_caption(summary) + f" Dashed: uniform causal attention "
               f"({uniform_entropy(job.configs[0].context):.3f}). Every run: {job.configs[0].steps} steps on "
               f"{plain(corpus_label(job.configs[0].corpus))}.")
    if not job.running:
        st.dataframe(table, hide_index=True)
        sweep_jobs.download_table(table, "Runs", "real-text-lr-comparison", PREFIX + "cmp_")


comparison()

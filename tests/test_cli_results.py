"""Tidy tables, files on disk and the command line (real subprocesses, real files)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scansnap_core.scan_snap.config import RunConfig
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.fields import FIELD_HELP
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.results import cli_command, frames, train

from browser_helpers import needs_chromium

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "scansnap_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_tables_are_tidy_and_consistent():
    engine = Engine(preset("syn-small", steps=12, record_every=4))
    engine.step(12)
    t = frames(engine)
    m = t["metrics"]
    assert list(m["step"]) == list(range(13)) and math.isnan(m["loss"][0])
    assert m["loss"][1] == pytest.approx(math.log(34), abs=2e-6)
    assert m["entropy_distinct"].notna().tolist() == [s % 4 == 0 for s in range(13)]
    att = t["attention"]
    assert len(att) == 4 * 2 * 20  # records x classes x support tokens
    sums = att.groupby(["step", "class"])["attention"].sum()
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    chi = att[att["kind"] == "distinct"]
    np.testing.assert_allclose(chi[chi["step"] == 0]["chi"], 1.0)
    assert att[att["kind"] == "common"]["chi"].isna().all()
    dec = t["decoder"]
    assert set(dec.columns) >= {"step", "class", "correct_logit", "correct_prob"}
    assert (dec[dec["step"] == 12]["correct_prob"].to_numpy() > dec[dec["step"] == 0]["correct_prob"].to_numpy()).all()


def test_cli_run_writes_tables_and_prints_a_summary(tmp_path):
    out = tmp_path / "run"
    proc = cli("run", "--preset", "syn-small", "--steps", "40", "--seed", "3", "--eta-y", "2", "--out", str(out))
    assert "Scan peak (fastest attention" in proc.stdout and "SGD theory: t0′" in proc.stdout
    assert "final training loss" in proc.stdout and "Outside the theory's assumptions: momentum" in proc.stdout
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "summary.json", "metrics.csv", "metrics.parquet", "attention.parquet",
            "decoder.csv"} <= names
    cfg = RunConfig.from_json((out / "config.json").read_text())
    assert (cfg.train.steps, cfg.train.seed, cfg.train.eta_y) == (40, 3, 2.0)
    csv, parquet = pd.read_csv(out / "metrics.csv"), pd.read_parquet(out / "metrics.parquet")
    assert {"step", "loss"} <= set(csv.columns) and len(csv) == 41
    np.testing.assert_allclose(csv["loss"].to_numpy(), parquet["loss"].to_numpy(), rtol=1e-6, equal_nan=True)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final_loss"] == pytest.approx(csv["loss"].iloc[-1], rel=1e-6)
    # the events: in summary.json, as rows of the metrics table, and in the printed line
    peak, snap = summary["scan_peak_step"], summary["snap_step"]
    assert peak is not None and f"at step {peak}" in proc.stdout
    marked = csv.dropna(subset=["event"]).set_index("event")["step"].to_dict()
    assert marked == ({"scan peak": peak} if snap is None else {"scan peak": peak, "snap": snap})
    assert csv["attended_changed"].dtype == bool and not csv["attended_changed"].iloc[0]
    # Z moves from step 2 on (zero init): the first full 9-step window is centred on step 6, the last on 36
    assert csv["dz_smoothed"].iloc[:6].isna().all() and csv["dz_smoothed"].iloc[6:37].notna().all()
    assert csv["dz_smoothed"].iloc[37:].isna().all()


def test_cli_command_reproduces_the_run(tmp_path):
    cfg = preset("syn-small", steps=15, optimizer="adam", eta_y=0.3, eta_z=0.2, seed=9)
    expected = train(cfg).metrics
    command = cli_command(cfg, out=str(tmp_path / "again"))
    args = command.split()[3:]  # drop "python -m scansnap_core"
    cli(*args)
    again = pd.read_parquet(tmp_path / "again" / "metrics.parquet")
    # same data and updates; float32 sums may differ in order across thread counts
    np.testing.assert_allclose(again["loss"], expected["loss"], rtol=1e-4, equal_nan=True)


def test_cli_sweep_writes_one_row_per_run(tmp_path):
    out = tmp_path / "sweep.csv"
    cli("sweep", "--num-query", "1", "3", "--eta-z", "1", "--ratio", "1", "5", "--seeds", "1-2", "--steps", "20",
        "--out", str(out))
    table = pd.read_csv(out)
    assert len(table) == 2 * 2 * 2
    assert {"num_query", "eta_z", "ratio", "seed", "entropy_distinct"} <= set(table.columns)
    assert sorted(table["ratio"].unique()) == [1.0, 5.0] and sorted(table["seed"].unique()) == [1, 2]


def test_cli_help_documents_every_flag():
    text = cli("run", "--help").stdout
    for name in FIELD_HELP:
        if name not in ("distinct_weights", "rate_changes"):
            assert "--" + name.replace("_", "-") in text
    assert "--out" in text and "--preset" in text and "--rate-change STEP:ETA_Y:ETA_Z" in text
    sweep = cli("sweep", "--help").stdout
    for flag in ("--num-query", "--eta-z", "--ratio", "--seeds", "--steps", "--out"):
        assert flag in sweep


@pytest.mark.parametrize("args, message", [
    (["run", "--eta-y", "-3", "--out", "x"], "error: eta_y = -3 is invalid: allowed 0 < eta_y <= 1000"),
    (["run", "--preset", "nope", "--out", "x"], "error: preset = 'nope' is invalid"),
    (["run", "--config", "/nonexistent.json", "--out", "x"], "error: config = '/nonexistent.json' is invalid"),
    (["sweep", "--seeds", "a-b", "--out", "x.csv"], "error: seeds = 'a-b' is invalid"),
    (["animate", "runs/x", "--out", "y", "--frames", "1"], "error: frames = 1 is invalid: allowed integer 2 <= frames"),
    (["animate", "/nonexistent", "--out", "y"], "error: run folder = '/nonexistent/config.json' is invalid"),
    (["run", "--rate-change", "50:1:0.5", "--rate-change", "40:1:1", "--out", "x"],
     "error: rate_changes[1] step = 40 is invalid: allowed integer 51 <= rate_changes[1] step <= 100"),
])
def test_cli_bad_input_is_a_one_line_error(args, message):
    proc = cli(*args, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(message)
    assert "Traceback" not in proc.stderr


def test_a_study_name_selects_its_commands_and_scan_snap_is_the_default():
    """python -m scansnap_core [STUDY] COMMAND: the study's name in front gives the same command."""
    named = cli("scan-snap", "theory", "--preset", "fig3", "--eta-y", "2")
    assert named.stdout == cli("theory", "--preset", "fig3", "--eta-y", "2").stdout
    assert "t0' = 34.55" in named.stdout  # K ln M / eta_Y = 10 ln 1002 / 2 (docs/THEORY.md §6)
    usage = cli("scan-snap", "theory", "--help").stdout
    assert usage.startswith("usage: python -m scansnap_core scan-snap theory")


def test_a_live_rate_change_is_part_of_the_run_and_its_reproduce_command_replays_it(tmp_path):
    """Changing η_Z mid-run used to leave only the last η_Z in config.json and reproduce.sh: re-running gave
    snap 8 / entropy 1.9593 instead of the app's 11 / 1.9504."""
    from scansnap_app.sessions import MAX_RECORDS
    from scansnap_core.lab.runner import Status
    from scansnap_core.scan_snap.engine import live_runner
    from scansnap_core.scan_snap.results import summarize

    cfg = preset("syn-small", steps=60)
    runner = live_runner(cfg, max_records=MAX_RECORDS)
    for _ in range(10):
        runner.step_once(wait=30)
    assert runner.retune(cfg.replace(eta_z=0.5)) == "learning rates η_Y = 1, η_Z = 0.5 from step 11"
    assert runner.retune(cfg.replace(eta_z=0.5)) == ""  # the rates the next step uses anyway: nothing new
    runner.start()
    assert runner.wait(120) == Status.FINISHED
    run = runner.snapshot()
    assert run.config.train.rate_changes == ((11, 1.0, 0.5),) and run.config.train.eta_z == 1.0
    assert RunConfig.from_json(run.config.to_json()) == run.config  # config.json keeps the change

    cli(*cli_command(run.config, out=str(tmp_path / "again")).split()[3:], "--threads", "1")
    again = pd.read_parquet(tmp_path / "again" / "metrics.parquet")
    np.testing.assert_array_equal(again["loss"][1:], run.data.losses)  # (step 0 has no loss) one thread each: the same numbers
    summary = json.loads((tmp_path / "again" / "summary.json").read_text())
    ours = summarize(run.data)
    assert (summary["snap_step"], summary["entropy_distinct"]) == (ours["snap_step"], ours["entropy_distinct"])
    changed = cli("run", "--steps", "60", "--rate-change", "11:1:0.5", "--threads", "1", "--out", str(tmp_path / "flag"))
    assert "Wrote" in changed.stdout
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "flag" / "metrics.parquet")["loss"], again["loss"])


@pytest.mark.parametrize("cfg", [
    preset("syn-small"),
    preset("fig3", eta_y=2.0, eta_z=0.1, steps=400, mode="expected"),
    preset("syn-medium-3", init="zero", normalize=False, residual=True, eta_y=10.000000000000002),
    preset("large", distinct_per_class=50, optimizer="adam", momentum=0.5, rate_changes=((11, 1.0, 0.5), (40, 3.0, 0.25))),
    RunConfig().replace(num_query=4, common_per_query=3, seed=123, record_every=3),
])
def test_the_reproduce_command_is_readable_flags_that_give_back_the_same_config(cfg):
    from scansnap_core.scan_snap import cli as run_cli

    command = cli_command(cfg, out="run")
    assert "--config-token" not in command and command.startswith("python -m scansnap_core run --preset ")
    args = run_cli._parser("x").parse_args(command.split()[3:])
    assert run_cli._run_config(args) == cfg
    weighted = cfg.replace(distinct_weights=tuple((1.0,) * cfg.data.distinct_per_class for _ in range(cfg.num_classes)))
    assert cli_command(weighted) == "python -m scansnap_core run --config config.json --out run"


def test_the_reproduce_command_names_the_closest_preset():
    assert cli_command(preset("fig3", eta_z=0.25)) == "python -m scansnap_core run --preset fig3 --eta-z 0.25 --out run"
    assert cli_command(preset("syn-small")) == "python -m scansnap_core run --preset syn-small --out run"


def test_a_run_folder_reads_back_as_the_run_it_saved_from_parquet_or_csv(tmp_path):
    """scan_snap/run_folder.load_run: what an animation of a finished run reads (issue 17), without training
    again; a class support padded by zero weights included."""
    from scansnap_core.lab.fields import ConfigError
    from scansnap_core.scan_snap.results import RunData
    from scansnap_core.scan_snap.run_folder import load_run

    cfg = preset("syn-small", steps=30, record_every=5, distinct_weights=[[0] * 5 + [1] * 5, [1] * 10])
    train(cfg).save(tmp_path)
    engine = Engine(cfg)
    engine.step(30)
    ref = RunData.from_engine(engine)
    valid = ref.layout.support_prob > 0
    for attempt in ("parquet", "csv"):
        loaded = load_run(tmp_path)
        assert list(loaded.steps) == list(ref.steps) == [0, 5, 10, 15, 20, 25, 30]
        for a, b in zip(loaded.records, ref.records):
            np.testing.assert_allclose(a.attention[0][valid], b.attention[0][valid], atol=1e-6)
            np.testing.assert_allclose(a.logits[0][valid], b.logits[0][valid], atol=1e-6)
            for name in ("correct_logit", "correct_prob", "entropy_distinct", "loss"):
                np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-6)
        np.testing.assert_allclose(loaded.losses, ref.losses, rtol=1e-6)
        np.testing.assert_allclose(loaded.dz_norms, ref.dz_norms, rtol=1e-6, atol=1e-9)
        assert (loaded.attended_changed == ref.attended_changed).all()
        assert (loaded.scan_peak_step, loaded.snap_step) == (ref.scan_peak_step, ref.snap_step)
        for table in tmp_path.glob("*.parquet"):  # the second pass reads the CSV copies
            table.unlink()
    with pytest.raises(ConfigError, match="run folder = .*nowhere/config.json.* is invalid: allowed a folder "
                                          "written by `run`"):
        load_run(tmp_path / "nowhere")


def test_cli_animate_writes_one_offline_html_of_a_saved_run(tmp_path):
    cli("run", "--preset", "syn-small", "--steps", "40", "--out", str(tmp_path / "run"))
    out = cli("animate", str(tmp_path / "run"), "--out", str(tmp_path / "anim"), "--frames", "10", "--seconds", "2")
    assert "10 frames in 2 s, plotly.js embedded" in out.stdout
    from scansnap_core.scan_snap.figures.animation import animation_steps
    from scansnap_core.scan_snap.run_folder import load_run

    html = (tmp_path / "anim" / "animation.html").read_text()
    assert len(html) > 3_000_000  # plotly.js inside
    steps = animation_steps(load_run(tmp_path / "run"), 10)
    assert len(steps) == 10 and all(f'"name":"{step}"' in html for step in steps)  # every frame inside


def _video_frames(path):
    """(meta, frames as int16 arrays) of an MP4, decoded by the ffmpeg inside imageio-ffmpeg."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(height, width, 3).astype(np.int16) for f in reader]


@needs_chromium
def test_cli_animate_writes_an_mp4_and_a_gif_of_the_requested_size_length_and_frames(tmp_path):
    """Issue 17: read back what was written: H.264 1920x1080 at 30 fps for 2 s = 60 frames; a 960x540 GIF of
    2 s; the run changed between step 0 and step 40, so the first and last frames differ."""
    from PIL import Image

    train(preset("syn-small", steps=40)).save(tmp_path / "run")  # what `run` writes (tested above)
    out = cli("animate", str(tmp_path / "run"), "--out", str(tmp_path / "anim"), "--format", "mp4", "gif",
              "--frames", "5", "--seconds", "2")
    assert "1920x1080, 60 frames at 30 fps (2 s), 5 distinct steps" in out.stdout
    assert "960x540, 5 frames, each held equally (2 s), 5 distinct steps" in out.stdout
    bars = [line for line in out.stderr.splitlines() if line.startswith("  mp4 [")]
    assert bars[-1].endswith("] 65/65") and "#" * 30 in bars[-1]  # 5 renders + 60 encoded frames
    gif_bars = [line for line in out.stderr.splitlines() if line.startswith("  gif [")]
    assert [bar.rsplit(" ", 1)[-1] for bar in gif_bars][-3:] == ["8/10", "9/10", "10/10"]  # encoding counts too

    meta, frames = _video_frames(tmp_path / "anim" / "animation.mp4")
    assert meta["codec"] == "h264" and meta["size"] == (1920, 1080) and meta["fps"] == 30
    assert len(frames) == 60 and meta["duration"] == pytest.approx(2.0, abs=0.05)
    held = [float(np.abs(frames[i] - frames[i + 1]).mean()) for i in range(59)]
    assert sum(h > 1.0 for h in held) == 4  # 5 distinct steps, each held for 12 frames: 4 cuts
    assert np.abs(frames[0] - frames[-1]).mean() > 3 * max(sorted(held)[:-4])  # the run moved

    gif = Image.open(tmp_path / "anim" / "animation.gif")
    durations = []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
    assert gif.size == (960, 540) and gif.n_frames == 5 and sum(durations) == 2000 and gif.info["loop"] == 0
    gif.seek(0)
    first = np.asarray(gif.convert("RGB"), np.int16)
    gif.seek(4)
    assert np.abs(first - np.asarray(gif.convert("RGB"), np.int16)).mean() > 1.0


def test_a_video_holds_each_image_for_an_equal_share_and_reports_its_progress():
    from scansnap_core.lab.cli_args import progress_bar
    from scansnap_core.lab.video import _gif_delays, _held, video_frame_count

    assert video_frame_count("mp4", 10) == 300 and video_frame_count("gif", 2.5) == 62  # GIF: 25 images/s at most
    assert _held(3, 9) == [0, 0, 0, 1, 1, 1, 2, 2, 2] and _held(4, 6) == [0, 0, 1, 2, 2, 3]
    assert _held(200, 80)[-1] == 199 and _held(200, 80)[0] == 0  # more images than frames: spread, ends kept
    assert set(_gif_delays(60, 10)) == {160, 170} and sum(_gif_delays(60, 10)) == 10_000  # 1/100 s steps
    assert sum(_gif_delays(7, 2.5)) == 2500
    lines = []
    stream = type("S", (), dict(isatty=lambda self: False, flush=lambda self: None,
                                write=lambda self, text: lines.append(text)))()
    bar = progress_bar("mp4", stream)
    for done in range(1, 101):
        bar(done, 100)
    assert len(lines) == 11 and lines[0].endswith("] 1/100\n") and lines[-1] == "mp4 [" + "#" * 30 + "] 100/100\n"

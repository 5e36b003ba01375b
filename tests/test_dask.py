"""Sweeps on a Dask cluster (issue 18): the same table as the local sweep, faults that lose no finished work, the
CLI's flags and $DASK_SCHEDULER_ADDRESS.  Runs on a 2-worker LocalCluster on 127.0.0.1."""

import functools
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("distributed", reason="dask is an optional extra: pip install -r requirements-dask.txt")

from scansnap_core.lab.distributed import Backend, ChunkFailed, contiguous_chunks, run_chunks  # noqa: E402
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: a reduced Fig. 6 grid: 2 layouts x 2 eta_Z x 2 ratios x 2 seeds, 30 steps
GRID = dict(num_query=(1, 3), eta_z=(0.5, 2.0), ratio=(1.0, 10.0), seeds=(1, 2), steps=30)


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      silence_logs=40) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def local_table():
    return run_sweep(fig6_configs(**GRID))


def test_chunks_follow_the_runs_that_train_together():
    assert contiguous_chunks("aaabbc") == [slice(0, 3), slice(3, 5), slice(5, 6)]
    assert contiguous_chunks("aaaaab", chunk_size=2) == [slice(0, 2), slice(2, 4), slice(4, 5), slice(5, 6)]


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_a_cluster_gives_exactly_the_local_table(cluster, local_table, chunk_size):
    seen = []
    table = run_sweep(fig6_configs(**GRID), backend=Backend("dask", address=cluster, chunk_size=chunk_size),
                      progress=lambda done, total, work: seen.append((done, total)))
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)
    chunks = 2 if chunk_size is None else 6  # two layouts of 8 runs; in threes: 3 + 3 + 2 each
    assert len(seen) == chunks and seen[-1] == (16, 16) and all(t == 16 for _, t in seen)


def dies_once(configs, marker: str):
    """A sweep whose first try kills its worker process (no exception: the process is gone)."""
    if not os.path.exists(marker):
        Path(marker).write_text("died")
        os._exit(1)
    return run_sweep(configs)


def fails_for_seed(configs, seed: int, log: str):
    """A sweep that always raises on a chunk holding ``seed`` (and logs every try)."""
    with open(log, "a") as tries:
        tries.write(f"{configs[0].train.seed}\n")
    if any(c.train.seed == seed for c in configs):
        raise ValueError(f"seed {seed} cannot train here")
    return run_sweep(configs)


def test_a_worker_that_dies_mid_chunk_is_replaced_and_the_sweep_completes(cluster, local_table, tmp_path):
    configs = fig6_configs(**GRID)
    table = run_chunks(functools.partial(dies_once, marker=str(tmp_path / "died")), configs,
                       contiguous_chunks([c.data.num_query for c in configs]), Backend("dask", address=cluster))
    assert (tmp_path / "died").read_text() == "died"
    pd.testing.assert_frame_equal(table, local_table, check_exact=True)


def test_a_chunk_that_keeps_failing_is_named_and_the_finished_chunks_are_kept(cluster, local_table, tmp_path):
    configs = fig6_configs(num_query=(1,), eta_z=(0.5,), ratio=(1.0,), seeds=(1, 2, 3), steps=30)
    log = tmp_path / "tries.log"
    with pytest.raises(ChunkFailed) as failed:
        run_chunks(functools.partial(fails_for_seed, seed=2, log=str(log)), configs, contiguous_chunks(range(3)),
                   Backend("dask", address=cluster, retries=1), describe=lambda c: f"seed {c[0].train.seed}")
    assert str(failed.value).startswith("chunk 2 of 3 (seed 2) failed after 1 retries: ValueError: seed 2 cannot "
                                        "train here")
    assert sorted(log.read_text().split()) == ["1", "2", "2", "3"]  # the failing chunk was tried twice
    kept = failed.value.table
    assert list(kept["seed"]) == [1, 3]
    pd.testing.assert_frame_equal(kept, run_sweep([configs[0], configs[2]]), check_exact=True)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "scansnap_core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def grid_flags(out: Path) -> list[str]:
    return ["sweep", "--num-query", "1", "3", "--eta-z", "0.5", "--ratio", "1", "10", "--seeds", "1-2", "--steps",
            "30", "--out", str(out)]


def test_the_cli_runs_the_same_sweep_on_a_local_cluster_or_at_the_environments_address(cluster, tmp_path):
    local = fig6_configs(num_query=(1, 3), eta_z=(0.5,), ratio=(1.0, 10.0), seeds=(1, 2), steps=30)  # grid_flags'
    run_sweep(local).to_csv(tmp_path / "local.csv", index=False)  # what `sweep` writes without --backend
    own = cli(*grid_flags(tmp_path / "own.csv"), "--backend", "dask", "--workers", "2", "--chunk-size", "2")
    assert own.returncode == 0, own.stderr
    assert "(dask: a local cluster of 2 worker processes on 127.0.0.1)" in own.stdout
    assert own.stderr.strip().splitlines()[-1].endswith("] 8/8")  # the progress bar, chunk by chunk
    shared = cli(*grid_flags(tmp_path / "shared.csv"), "--backend", "dask", env={"DASK_SCHEDULER_ADDRESS": cluster})
    assert shared.returncode == 0, shared.stderr
    assert f"(dask: {cluster})" in shared.stdout
    expected = (tmp_path / "local.csv").read_bytes()
    assert (tmp_path / "own.csv").read_bytes() == expected and (tmp_path / "shared.csv").read_bytes() == expected


@pytest.mark.parametrize("flags, message", [
    (["--dask-address", "tcp://127.0.0.1:1"], "error: dask-address = 'tcp://127.0.0.1:1' is invalid: allowed used "
                                              "only with --backend dask"),
    (["--backend", "dask", "--retries", "-1"], "error: retries = -1 is invalid: allowed integer 0 <= retries <= 256"),
])
def test_bad_backend_flags_are_one_line_errors(tmp_path, flags, message):
    proc = cli(*grid_flags(tmp_path / "x.csv"), *flags)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == message
    assert not (tmp_path / "x.csv").exists()


def test_a_failed_cluster_sweep_still_writes_the_finished_rows(tmp_path, monkeypatch, capsys):
    from scansnap_core.scan_snap import cli as scan_cli

    finished = pd.DataFrame({"seed": [1], "entropy_distinct": [1.5]})

    def failing(configs, **kwargs):
        raise ChunkFailed("chunk 2 of 2 (8 runs) failed after 2 retries: RuntimeError: boom", finished)

    monkeypatch.setattr(scan_cli, "run_sweep", failing)
    status = scan_cli.main(grid_flags(tmp_path / "part.csv") + ["--backend", "dask"])
    assert status == 1
    assert "error: chunk 2 of 2 (8 runs) failed after 2 retries: RuntimeError: boom" in capsys.readouterr().err
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "part.csv"), finished)


def test_ctrl_c_cancels_the_cluster_and_keeps_the_finished_rows(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the sweep stops within seconds, writes the runs
    that finished, says so in one line, and leaves no worker process behind."""
    import signal

    import psutil

    out = tmp_path / "part.csv"
    proc = subprocess.Popen([sys.executable, "-m", "scansnap_core", "sweep", "--num-query", "1", "--eta-z", "0.5", "1",
                             "--ratio", "1", "10", "--seeds", "1-4", "--steps", "1500", "--backend", "dask",
                             "--chunk-size", "1", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = proc.stderr.readline()  # the progress bar's first line: one chunk has finished
        assert first.startswith("  runs [") and first.rstrip().endswith("/16"), first
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == ("interrupted: the cluster's tasks were cancelled; the finished chunks' "
                                            "rows were written")
    assert 1 <= len(pd.read_csv(out)) < 16
    assert not [w.pid for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def test_the_pages_sweep_job_runs_on_the_servers_cluster_and_reports_chunks(cluster, local_table, monkeypatch):
    import time

    from scansnap_core.lab.distributed import server_backend
    from scansnap_core.scan_snap.sweep import sweep_job

    monkeypatch.setenv("SCANSNAP_SWEEP_BACKEND", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster)
    backend = server_backend()
    assert backend.scheduler == cluster
    job = sweep_job(fig6_configs(**GRID), backend)
    deadline = time.monotonic() + 120
    while job.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.status == "finished" and job.done == 16
    pd.testing.assert_frame_equal(job.table, local_table, check_exact=True)


def test_the_sweep_page_says_where_sweeps_train_and_never_asks_for_an_address(monkeypatch):
    from streamlit.testing.v1 import AppTest

    page = str(ROOT / "pages" / "sweep.py")
    monkeypatch.setenv("SCANSNAP_SWEEP_BACKEND", "dask")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:8786")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception and not at.text_input  # no field a browser could send an address through
    assert any("Sweeps train on the Dask cluster at tcp://127.0.0.1:8786 (the server's setting)" in c.value
               for c in at.caption)
    monkeypatch.setenv("SCANSNAP_SWEEP_BACKEND", "ray")
    at = AppTest.from_file(page, default_timeout=60).run()
    assert [w.value for w in at.warning] == ["Server setting ignored: `SCANSNAP_SWEEP_BACKEND = 'ray' is invalid: "
                                             "allowed local or dask`. Sweeps train on this server."]
    assert any("Sweeps train on this server." in c.value for c in at.caption)


def test_the_cluster_a_sweep_starts_listens_on_loopback_only():
    import psutil

    from scansnap_core.lab.distributed import _client

    def listening() -> set[tuple[int, str, int]]:
        tree = [psutil.Process(), *psutil.Process().children(recursive=True)]
        return {(p.pid, c.laddr.ip, c.laddr.port) for p in tree for c in p.net_connections(kind="inet")
                if c.status == "LISTEN"}

    before = listening()  # e.g. the suite's own Streamlit servers
    with _client(Backend("dask", workers=1)):
        opened = listening() - before
    assert len(opened) >= 3 and {ip for _, ip, _ in opened} == {"127.0.0.1"}  # scheduler, HTTP, nanny, worker


def test_the_text_studys_sweep_runs_on_the_cluster_too_but_not_on_an_upload(cluster):
    from scansnap_core.lab.fields import ConfigError
    from scansnap_core.text.config import TextConfig
    from scansnap_core.text.results import compare, comparison_configs

    configs = comparison_configs(TextConfig(steps=40), lrs=(1.0, 5.0), seeds=(0,))
    pd.testing.assert_frame_equal(compare(configs, backend=Backend("dask", address=cluster)), compare(configs),
                                  check_exact=True)
    from scansnap_core.text.corpus import register_upload

    name = register_upload("mine.txt", ("the cat sat on the mat and the dog sat too . " * 3000).encode())
    upload = [c.replace(corpus=name) for c in configs]
    with pytest.raises(ConfigError, match="a built-in corpus .*the cluster's workers do not have an uploaded"):
        compare(upload, backend=Backend("dask", address=cluster))

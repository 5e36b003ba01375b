"""The engine against the theory's exact statements (docs/THEORY.md §8) and a plain reference."""

import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import HAS_NVIDIA_DRIVER, ROOT, gpu_env
from reference import ReferenceModel
from scansnap_core.scan_snap import theory
from scansnap_core.lab.fields import ConfigError
from scansnap_core.scan_snap.engine import Engine, plan_run
from scansnap_core.scan_snap.events import detect_events
from scansnap_core.scan_snap.presets import preset
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep


def small(**kw):
    """A quick Syn-Small variant."""
    base = dict(batch_size=16, seq_len=24, steps=20)
    base.update(kw)
    return preset("syn-small", **base)


# ------------------------------------------------------------------ §8 items 1-2
@pytest.mark.parametrize("name", ["syn-small", "fig3", "syn-medium-3"])
def test_zero_init_first_loss_is_ln_M_exactly(name):
    cfg = preset(name, init="zero")
    engine = Engine(cfg)
    engine.step(1)
    assert engine.losses[0, 0] == pytest.approx(math.log(cfg.vocab_size), abs=2e-6)
    assert engine.records[0].loss[0] == pytest.approx(math.log(cfg.vocab_size), abs=2e-6)


@pytest.mark.parametrize("mode", ["sgd", "expected"])
def test_zero_init_Z_does_not_move_on_step_one_and_row_sums_stay_zero(mode):
    engine = Engine(preset("syn-small", mode=mode))
    engine.step(1)
    assert torch.count_nonzero(engine.Z) == 0  # its gradient is proportional to Y(0) = 0
    assert engine.dz_norms[0, 0] == 0.0
    assert np.abs(engine.full_Y().sum(axis=1)).max() < 1e-6
    engine.step(59)
    assert engine.dz_norms[-1, 0] > 0
    scale_y = np.abs(engine.full_Y()).max()
    assert scale_y > 1.0  # Y has really moved ...
    assert np.abs(engine.full_Y().sum(axis=1)).max() < 1e-5 * scale_y  # ... but every row still sums to 0
    z = engine.full_Z_rows()
    assert np.abs(z).max() > 0.1
    assert np.abs(z.sum(axis=1)).max() < 1e-5


def test_tokens_absent_from_a_query_never_move():
    engine = Engine(preset("syn-small"))
    engine.step(30)
    z, layout = engine.full_Z_rows(), engine.layout
    for q in range(layout.Q):
        absent = np.ones(layout.M, bool)
        absent[layout.support[layout.psi == q].ravel()] = False
        assert np.all(z[q, absent] == 0)


# ------------------------------------------------------------------ exactness of the fast paths
@pytest.mark.parametrize(
    "overrides",
    [
        dict(),  # zero init, SGD momentum 0.9
        dict(init="default", optimizer="adam", eta_y=0.1, eta_z=0.1),
        dict(init="default", momentum=0.0, residual=True),
        dict(init="default", normalize=False, eta_y=0.5, eta_z=2.0),
        dict(common_per_query=2, next_per_query=2, num_query=1, init="default", optimizer="adam"),
    ],
)
@pytest.mark.parametrize("dense_value_grad", [True, False])  # both branches of Engine._value_grad
def test_engine_matches_plain_autograd_reference(overrides, dense_value_grad):
    cfg = small(**overrides)
    engine = Engine(cfg)
    engine._dense_value_grad = dense_value_grad
    reference = ReferenceModel(engine)
    rng = copy.deepcopy(engine.generators[0])  # the engine's next minibatches
    for _ in range(6):
        classes, counts = engine.layout.sample(rng, cfg.train.batch_size, cfg.train.seq_len)
        ref_loss = reference.step(classes, counts)
        engine.step(1)
        assert engine.losses[-1, 0] == pytest.approx(ref_loss, rel=1e-5, abs=1e-6)
    q_rows = reference.Z.detach().numpy()[engine.layout.query_token]
    np.testing.assert_allclose(engine.full_Z_rows(), q_rows, atol=1e-5)
    np.testing.assert_allclose(engine.full_Y(), reference.Y.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_tied_output_columns_are_exact_under_zero_init(optimizer):
    cfg = small(optimizer=optimizer, eta_y=2.0 if optimizer == "sgd" else 0.2, steps=25)
    tied, full = Engine(cfg), Engine(cfg, tie_columns=False)
    assert tied.C == cfg.num_classes + 1 and full.C == cfg.vocab_size
    tied.step(25)
    full.step(25)
    np.testing.assert_allclose(tied.losses, full.losses, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tied.full_Y(), full.full_Y(), atol=1e-5)
    np.testing.assert_allclose(tied.full_Z_rows(), full.full_Z_rows(), rtol=5e-5, atol=5e-6)


def test_sweep_member_equals_the_same_run_alone():
    configs = fig6_configs(num_query=(3,), eta_z=(0.5, 2.0), ratio=(1.0, 5.0), seeds=(1, 2), steps=15)
    table = run_sweep(configs)
    alone = Engine(configs[5])
    alone.step(15)
    row = table.iloc[5]
    cfg = configs[5]
    assert (row.eta_z, row.ratio, row.seed) == (cfg.train.eta_z, cfg.eta_ratio, cfg.train.seed)
    assert row.entropy_distinct == pytest.approx(float(alone.records[-1].entropy_distinct[0]), abs=1e-5)
    assert row.final_loss == pytest.approx(float(alone.losses[-1, 0]), rel=1e-4)


# ------------------------------------------------------------------ Lemma 5 (§8 item 3)
def test_lemma5_exact_discrete_decoder_solution():
    """Disjoint supports, η_Z = 0, Y(0) = 0, population f_n, no momentum.  The expected
    update visits every class with weight 1/K per step, so w_n = F^T Y follows the
    recursion of Lemma 5 with rate η_Y/K."""
    K, D, eta_y, steps = 4, 6, 2.0, 60
    cfg = preset("fig3").replace(next_per_query=K, distinct_per_class=D, common_global=0, eta_y=eta_y,
                                 eta_z=0.0, momentum=0.0, mode="expected", steps=steps)
    engine = Engine(cfg)
    engine.step(steps)
    layout, M = engine.layout, cfg.vocab_size
    f = layout.P / np.linalg.norm(layout.P, axis=1, keepdims=True)  # Z = 0: f_n = P(.|n)/||P(.|n)||
    np.testing.assert_allclose(f @ f.T, np.eye(K), atol=1e-12)  # orthogonal: E = 0
    W = f @ engine.full_Y().astype(np.float64)  # [K, M]
    h_star = theory.h_star(steps, M, eta_y / K)[-1]
    zeta = M / (M - 1) * (np.eye(M)[layout.next_token] - 1.0 / M)
    np.testing.assert_allclose(W, (M - 1) * h_star * zeta, rtol=2e-5, atol=1e-6)
    h = theory.h(np.arange(steps + 1), M, eta_y / K)
    gap = theory.h_star(steps, M, eta_y / K) - h
    assert gap.min() >= -1e-12 and gap.max() <= 2 * (eta_y / K) / M  # Lemma 7


# ------------------------------------------------------------------ Theorem 2, snapping (§8 items 4, 6)
def test_syn_small_scans_common_down_distinct_up_and_plateaus():
    engine = Engine(preset("syn-small", steps=200))
    engine.step(200)
    layout, rec = engine.layout, engine.records
    common, distinct = layout.support_common, layout.support_distinct
    z = rec[-1].logits[0]  # [K, S]
    assert z[common].mean() < -0.1  # Theorem 2(b)
    assert z[distinct].mean() > 0.1  # Theorem 2(a)
    final = rec[-1].attention[0]
    for n in range(layout.K):
        d = np.flatnonzero(distinct[n])
        assert d[np.argmax(final[n, d])] == d[np.argmax(layout.support_prob[n, d])]
        # logits over distinct tokens roughly increase with P(l|n): top half above bottom half
        zd = z[n, d]
        assert zd[len(d) // 2:].mean() > zd[: len(d) // 2].mean() + 0.2
    entropy = np.array([r.entropy_distinct[0] for r in rec])
    assert entropy[0] == pytest.approx(2.1513, abs=1e-3)  # zero-init value quoted in §7
    assert abs(entropy[200] - entropy[50]) < 0.01  # snapped: it no longer changes materially
    assert entropy[-1] > 1.2  # and it did not collapse onto one token (that would be 0)


def test_fig6_slice_shows_the_learning_rate_trends():
    # 10 seeds: at η_Z = 3 the seed-to-seed std of the entropy reaches 0.2 nats (default init)
    configs = fig6_configs(num_query=(1,), eta_z=(0.5, 3.0), ratio=(1.0, 10.0), seeds=range(1, 11))
    table = run_sweep(configs)
    mean = table.groupby(["eta_z", "ratio"])["entropy_distinct"].mean()
    for ratio in (1.0, 10.0):
        assert mean[(3.0, ratio)] < mean[(0.5, ratio)] - 0.05  # larger η_Z: sparser attention
    for eta_z in (0.5, 3.0):
        assert mean[(eta_z, 10.0)] > mean[(eta_z, 1.0)] + 0.05  # larger η_Y/η_Z: less sparse


def test_sampled_scan_peak_scales_like_one_over_eta_y():
    """§6 with the fig3 setting, plain SGD, η_Z = 0.5, sampled minibatches: the scan peak (peak of the
    smoothed ‖ΔZ‖) is ∝ 1/η_Y, as t0′ and t0 are; in these runs it falls between them (a measured
    fact about this setting, not a theory claim: in T→∞ mode it falls before t0′, tests/test_events.py)."""
    measured = {}
    for eta_y in (0.5, 1.0, 2.0, 5.0):
        cfg = preset("fig3", eta_y=eta_y, record_every=10_000)
        engine = Engine(cfg)
        engine.step(int(1.3 * theory.t0(cfg.num_classes, cfg.vocab_size, eta_y)))
        peak = detect_events(engine.dz_norms[:, 0]).scan_peak_step
        lo = theory.t0_prime(cfg.num_classes, cfg.vocab_size, eta_y)
        hi = theory.t0(cfg.num_classes, cfg.vocab_size, eta_y)
        assert peak is not None and lo <= peak <= hi, (eta_y, peak, lo, hi)
        measured[eta_y] = peak
    products = np.array([eta * s for eta, s in measured.items()])
    assert products.max() / products.min() < 1.3  # peak ∝ 1/η_Y within 30% across a 10x range of η_Y


def test_expected_and_sampled_modes_agree_for_large_batch_and_T():
    """Stated tolerance: with batch = T = 1024 the sampled run stays within 0.02 nats of
    entropy and 0.02 of every attention weight of the T → ∞ expected run (30 steps)."""
    a = Engine(preset("syn-small", mode="expected"))
    b = Engine(preset("syn-small", batch_size=1024, seq_len=1024))
    a.step(30)
    b.step(30)
    ra, rb = a.records[-1], b.records[-1]
    assert abs(ra.entropy_distinct[0] - rb.entropy_distinct[0]) < 0.02
    assert np.abs(ra.attention - rb.attention).max() < 0.02
    assert abs(ra.entropy_distinct[0] - a.records[0].entropy_distinct[0]) > 0.1  # both really moved


def test_divergence_is_flagged_with_its_step():
    engine = Engine(small())
    engine.step(3)
    with torch.no_grad():
        engine.Z.fill_(float("nan"))
    engine.step(2)
    assert engine.diverged_at[0] == 4


def test_bounded_history_thins_records_and_keeps_first_and_last():
    engine = Engine(small(steps=100), max_records=16)
    engine.step(100)
    steps = [r.step for r in engine.records]
    assert len(steps) <= 17 and steps[0] == 0 and steps[-1] > 100 - engine.record_every
    engine.ensure_final_record()
    assert engine.records[-1].step == 100
    assert steps == sorted(steps)
    assert len(engine.losses) == 100  # per-step scalars are all kept


def test_distinct_entropy_ignores_classes_without_distinct_tokens():
    cfg = preset("syn-small").replace(distinct_per_class=3, distinct_weights=((1, 2, 3), (0, 0, 0)))
    engine = Engine(cfg)
    p = np.array([1, 2, 3]) / 6
    assert engine.records[0].entropy_distinct[0] == pytest.approx(-(p * np.log(p)).sum(), rel=1e-5)
    none = Engine(preset("syn-small", distinct_per_class=0))
    assert np.isnan(none.records[0].entropy_distinct[0])  # undefined, not "perfectly sparse"


def test_attended_set_changes_are_tracked_every_step():
    """The engine's per-step attended sets agree with the ones read off every record."""
    from scansnap_core.scan_snap.results import RunData, attended_distinct

    engine = Engine(preset("syn-small", steps=30))
    engine.step(30)
    data = RunData.from_engine(engine)
    sets = [attended_distinct(data, r)[0] for r in data.records]  # a record per step
    from_records = [bool((a != b).any()) for a, b in zip(sets[:-1], sets[1:])]
    assert engine.attended_changed[:, 0].tolist() == from_records and any(from_records)


# ------------------------------------------------------------------ devices (scansnap_core/lab/devices.py)
def test_auto_and_cpu_devices_give_the_same_run_and_cuda_is_refused_without_a_gpu(monkeypatch):
    cfg = small(init="default", steps=8)
    runs = {}
    for device in ("cpu", "auto"):
        engine = Engine(cfg.replace(device=device))
        engine.step(8)
        runs[device] = engine
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runs["auto"].device.type == expected and runs["cpu"].device.type == "cpu"
    np.testing.assert_allclose(runs["auto"].losses, runs["cpu"].losses, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(runs["auto"].full_Y(), runs["cpu"].full_Y(), atol=1e-5)
    np.testing.assert_allclose(runs["auto"].records[-1].attention, runs["cpu"].records[-1].attention, atol=1e-5)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device = 'cuda' is invalid: allowed auto or cpu: this machine has no CUDA"):
        plan_run(cfg.replace(device="cuda"))  # refused before anything is built
    with pytest.raises(ConfigError, match="device = 'tpu' is invalid: allowed one of 'auto', 'cpu', 'cuda'"):
        cfg.replace(device="tpu")


CUDA_AGAINST_CPU = """
import json, numpy as np, torch
from scansnap_core.scan_snap.sweep import fig6_configs, run_sweep
if not torch.cuda.is_available():
    print(json.dumps(None))
else:
    configs = fig6_configs(num_query=(3,), eta_z=(1.0,), ratio=(1.0, 5.0), seeds=(1, 2), steps=30)
    cpu, gpu = (run_sweep([c.replace(device=d) for c in configs]) for d in ("cpu", "cuda"))
    print(json.dumps({c: float(np.max(np.abs(gpu[c] - cpu[c]))) for c in ("entropy_distinct", "final_loss")}))
"""


@pytest.mark.skipif(not HAS_NVIDIA_DRIVER, reason="no CUDA device here: the GPU path is checked on a GPU machine "
                    "(BENCHMARKS.md, 'Devices')")
def test_a_sweep_on_cuda_matches_the_cpu_within_float32_rounding():
    """In a process of its own with the GPUs visible (the rest of the suite hides them: conftest.py)."""
    proc = subprocess.run([sys.executable, "-c", CUDA_AGAINST_CPU], env=gpu_env(), cwd=ROOT, capture_output=True,
                          text=True, check=True)
    diffs = json.loads(proc.stdout.strip().splitlines()[-1])
    if diffs is None:
        pytest.skip("an NVIDIA driver but no CUDA device torch can use")
    assert diffs["entropy_distinct"] < 1e-4 and diffs["final_loss"] < 1e-4, diffs

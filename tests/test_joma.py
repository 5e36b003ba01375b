"""The JoMA study's core (issue 13): the invariant (derived by autograd against the closed form, and held along
training), the reduced sparse-then-dense dynamics against the spec's numbers (B6), configs and the CLI."""

import json

import numpy as np
import pytest
import torch

from scansnap_core.joma.config import InvariantConfig, ReducedConfig
from scansnap_core.joma.results import train
from scansnap_core.lab.fields import ConfigError


# ---------------------------------------------------------------- Demo 2: sparse, then dense
def test_the_reduced_dynamics_go_sparse_then_dense_as_the_spec_measured():
    """B6 3 and 4 on the defaults (10 tokens, μ sorted U(1, 4) with seed 0, v(0) = 0.05, T = 3, η = 0.02)."""
    view = train("reduced", ReducedConfig())
    low, at = view.entropy_min
    assert view.entropy[0] == pytest.approx(np.log(10))
    assert 0 < at < view.step and low <= view.entropy[0] - 0.5 and view.entropy[-1] >= low + 0.2
    assert (low, at) == (pytest.approx(1.140, abs=1e-3), 819) and view.entropy[-1] == pytest.approx(1.554, abs=1e-3)
    assert view.entropy_limit == pytest.approx(1.669, abs=1e-3) and view.entropy[-1] < view.entropy_limit
    reached = [(m, t) for m, t in zip(view.mu, view.t90) if t is not None]
    assert [t for _, t in reached][::-1] == [515, 614, 1598, 2817, 4564]  # the spec's t90 for the top five μ
    assert all(t1 > t2 for (_, t1), (_, t2) in zip(reached, reached[1:]))  # more salient: sooner


def test_without_saturation_the_winner_takes_all():
    view = train("reduced", ReducedConfig(linear=True))
    assert (np.diff(view.entropy) <= 1e-12).all() and view.entropy[-1] < 1e-6
    assert int(np.argmax(view.v[-1])) == 9  # the most salient token


def test_a_low_temperature_collapses_without_a_visible_rebound():
    view = train("reduced", ReducedConfig(temperature=1.0))
    low, at = view.entropy_min
    assert low < 0.05 and view.entropy[-1] - low < 0.05


# ---------------------------------------------------------------- Demo 1: the invariant
def _gradients(config: InvariantConfig):
    from scansnap_core.joma.invariant import _Model, class_distributions

    model = _Model(config, class_distributions(config))
    with torch.no_grad():  # a generic point: weights and logits well away from their tiny start
        gen = torch.Generator().manual_seed(3)
        model.w += torch.randn(model.w.shape, generator=gen, dtype=torch.float64) * 0.5
        model.z += torch.randn(model.z.shape, generator=gen, dtype=torch.float64) * 0.5
    loss, _ = model.loss()
    grads = torch.autograd.grad(loss, model.parameters)
    v = model.w.detach()[: config.tokens]  # [M_c, units]
    return model.z.detach(), grads[0], v, grads[1][: config.tokens]


@pytest.mark.parametrize("mlp", ["linear", "relu"])
def test_the_invariant_holds_for_the_gradients_exactly(mlp):
    """exp attention: ∂L/∂z_l = (1/T) Σ_k v_kl ∂L/∂v_kl, so z − (1/2T) Σ_k v_k∘v_k is constant along gradient flow;
    linear attention: z_l ∂L/∂z_l = Σ_k v_kl ∂L/∂v_kl, so z∘z − Σ_k v_k∘v_k is.  Any MLP above (autograd, float64)."""
    cfg = InvariantConfig(attention="exp", mlp=mlp, hidden=16, distinct=4, common=3, classes=5)
    z, dz, v, dv = _gradients(cfg)
    torch.testing.assert_close(dz, (v * dv).sum(dim=1) / cfg.temperature, rtol=1e-10, atol=1e-12)
    cfg = cfg.replace(attention="linear")
    z, dz, v, dv = _gradients(cfg)
    torch.testing.assert_close(z * dz, (v * dv).sum(dim=1), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_with_softmax_attention_the_logits_follow_the_invariant_along_training(seed):
    """B6 1 and 2: softmax attention, linear MLP, lr 0.1, 2000 steps: NC(z, ẑ) >= 0.98 at every step, and the
    distinct tokens end with higher logits than the common ones while the attention's entropy falls."""
    view = train("invariant", InvariantConfig(seed=seed))
    distinct, common = view.mean_logits
    assert view.nc.min() >= 0.98 and view.nc[0] == pytest.approx(1.0)
    assert distinct[-1] > 0.15 > -0.15 > common[-1]
    assert view.entropy[0] == pytest.approx(2.77, abs=0.03) and view.entropy[-1] < 1.0


def test_exp_and_linear_attention_keep_the_invariant_exactly_at_small_steps():
    """B6 1: exp attention at lr 0.01: NC >= 0.999; linear attention (z(0) = 1 + noise) at lr 0.1: NC(z∘z,
    Σ v∘v + c) >= 0.999.  Larger steps leave the gradient flow: exp attention at lr 0.1 loses it as z grows."""
    assert train("invariant", InvariantConfig(attention="exp", lr=0.01)).nc.min() >= 0.999
    assert train("invariant", InvariantConfig(attention="linear")).nc.min() >= 0.999
    assert train("invariant", InvariantConfig(attention="exp", lr=0.1)).nc.min() < 0.9


# ---------------------------------------------------------------- configs and CLI
@pytest.mark.parametrize("cls, changes, message", [
    (ReducedConfig, {"tokens": 1}, "tokens = 1 is invalid: allowed integer 2 <= tokens <= 30"),
    (ReducedConfig, {"mu_high": 0.5}, "mu_high = 0.5 is invalid: allowed mu_low < mu_high <= 10 (mu_low = 1)"),
    (ReducedConfig, {"linear": "yes"}, "linear = 'yes' is invalid: allowed true or false"),
    (InvariantConfig, {"attention": "relu"}, "attention = 'relu' is invalid: allowed one of 'softmax', 'exp', 'linear'"),
    (InvariantConfig, {"lr": 0}, "lr = 0 is invalid: allowed 0 < lr <= 1"),
    (InvariantConfig, {"steps": 10**6}, "steps = 1000000 is invalid: allowed integer 1 <= steps <= 20000"),
])
def test_an_invalid_setting_names_the_field_the_value_and_the_range(cls, changes, message):
    with pytest.raises(ConfigError) as err:
        cls().replace(**changes)
    assert str(err.value) == message


def test_the_cli_writes_each_demos_promised_summary(tmp_path, capsys):
    import pandas as pd

    from scansnap_core.cli import main

    assert main(["joma", "reduced", "--out", str(tmp_path / "r"), "--quiet"]) == 0
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert {"entropy_start", "entropy_min", "argmin_step", "entropy_end", "entropy_limit", "t90"} <= set(s)
    assert s["argmin_step"] == 819 and list(s["t90"].values())[-1] == 515
    assert len(pd.read_parquet(tmp_path / "r" / "components.parquet")) == 5001 * 10
    assert main(["joma", "invariant", "--out", str(tmp_path / "i"), "--steps", "300", "--attention", "exp",
                 "--temperature", "0.5", "--lr", "0.01", "--seed", "1", "--quiet"]) == 0
    s = json.loads((tmp_path / "i" / "summary.json").read_text())
    assert {"nc_min", "nc_final", "mean_logit_distinct", "mean_logit_common", "entropy_start", "entropy_end"} <= set(s)
    assert s["nc_min"] >= 0.999 and s["steps"] == 300
    assert ReducedConfig.from_dict(json.loads((tmp_path / "r" / "config.json").read_text())) == ReducedConfig()
    assert main(["joma", "reduced", "--out", str(tmp_path / "x"), "--tokens", "31"]) == 2
    assert "tokens = 31 is invalid: allowed integer 2 <= tokens <= 30" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- Demo 3 and 4: small transformers
def test_a_small_transformers_attention_dips_then_rebounds():
    """B6 5 (the slow one, about half a minute): 1 layer, Adam 1e−3, 800 steps, seed 0: the attention entropy falls
    by at least 0.4 nats and then rises again by at least 0.25; the MLP's stable rank falls."""
    from scansnap_core.joma.config import LMConfig

    view = train("lm", LMConfig())
    low, at = view.entropy_dip(0)
    start, end = view.entropy[0, 0], view.entropy[-1, 0]
    assert start == pytest.approx(2.97, abs=0.05) and 0 < at < 400
    assert low <= start - 0.4 and end >= low + 0.25
    assert view.rank[-1, 0] < 0.5 * view.rank[0, 0] and view.loss[-1] < view.loss[0] - 0.5


def test_hierarchical_latents_are_found_by_the_blocks_mlp_units():
    """Demo 4, 100 Adam steps: the classifier learns and the upper block's units come to track the classes (their
    correlation rises by more than 0.1 over its value at initialisation; 0.757 -> 0.882 with seed 0); random units
    already reach about 0.79 on level 0 and decoy latents about 0.72, see docs/THEORY.md, "JoMA: hierarchical
    latents"."""
    from scansnap_core.joma.config import HierConfig
    from scansnap_core.joma.hier import Hierarchy

    view = train("hier", HierConfig(steps=100))
    assert view.loss[-1] < 0.05 and view.eval_steps.tolist() == [0, 20, 40, 60, 80, 100]
    assert ((view.correlation > 0.6) & (view.correlation <= 1)).all()
    assert view.correlation[-1, 1] > view.correlation[0, 1] + 0.1
    assert view.chance.shape == (6,) and ((view.chance > 0.5) & (view.chance < view.correlation[:, 0])).all()
    unit, corr, on, off = view.latent_unit(1, 0)  # class 0 and its best upper-block unit
    assert on.size + off.size == 512 and unit == view.per_latent[1][1][0] and corr == view.per_latent[1][0][0]
    assert np.corrcoef(np.r_[np.ones(on.size), np.zeros(off.size)], np.r_[on, off])[0, 1] == pytest.approx(corr)
    hierarchy = Hierarchy(HierConfig())
    tokens, classes, latents = hierarchy.sample(np.random.default_rng(0), 64)
    for row, cls in zip(tokens, classes):  # left padding, then the class's tokens in order
        body = row[row != hierarchy.pad]
        expected = np.flatnonzero(hierarchy.level0[hierarchy.level1[cls]].any(axis=0))
        assert (body == expected).all() and (row[: len(row) - len(body)] == hierarchy.pad).all()


def test_the_best_correlation_is_pearsons_over_units():
    from scansnap_core.joma.hier import best_correlations

    rng = np.random.default_rng(0)
    indicators = rng.random((200, 3)) < 0.4
    activations = np.column_stack([rng.normal(size=200), indicators[:, 1] + 0.1 * rng.normal(size=200),
                                   np.ones(200)])
    indicators[:, 2] = True  # constant: no correlation defined
    best, unit = best_correlations(indicators, activations)
    assert unit[1] == 1 and best[1] == pytest.approx(np.corrcoef(indicators[:, 1], activations[:, 1])[0, 1])
    assert np.isnan(best[2])


def test_the_transformer_demos_cli_summaries_and_the_reproducing_command(tmp_path):
    import shlex

    from scansnap_core.cli import main
    from scansnap_core.joma.config import HierConfig, LMConfig
    from scansnap_core.joma.export import cli_command

    cfg = LMConfig(steps=30, layers=2, dim=32)
    argv = shlex.split(cli_command("lm", cfg, out=str(tmp_path / "lm")))[3:]  # after "python -m scansnap_core"
    assert argv[:2] == ["joma", "lm"] and main(argv + ["--quiet"]) == 0
    assert LMConfig.from_dict(json.loads((tmp_path / "lm" / "config.json").read_text())) == cfg
    s = json.loads((tmp_path / "lm" / "summary.json").read_text())
    assert set(s["layers"]) == {"1", "2"} and set(s["layers"]["2"]) == {
        "entropy_start", "entropy_min", "argmin_step", "entropy_end", "stable_rank_start", "stable_rank_end"}
    assert main(["joma", "hier", "--out", str(tmp_path / "h"), "--steps", "20", "--quiet"]) == 0
    s = json.loads((tmp_path / "h" / "summary.json").read_text())
    assert set(s["levels"]) == {"0", "1"} and 0 < s["levels"]["1"]["correlation"] <= 1
    assert HierConfig.from_dict(json.loads((tmp_path / "h" / "config.json").read_text())).steps == 20
    assert cli_command("reduced", ReducedConfig(linear=True)) == "python -m scansnap_core joma reduced --linear --out run"


@pytest.mark.skipif(__import__("shutil").which("chromium") is None,
                    reason="no chromium: kaleido cannot render static images")
def test_a_joma_figure_pack_holds_the_demos_figures_and_command():
    import io
    import zipfile

    from scansnap_core.joma.export import figure_pack

    view = train("reduced", ReducedConfig(steps=300))
    pack = zipfile.ZipFile(io.BytesIO(figure_pack("reduced", view)))
    assert {f"figures/{n}.{e}" for n in ("components", "entropy", "t90") for e in ("png", "svg")} <= set(pack.namelist())
    assert json.loads(pack.read("summary.json"))["steps"] == 300
    assert "joma reduced --steps 300" in pack.read("reproduce.sh").decode()

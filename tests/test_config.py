"""Configuration: presets, validation messages, serialisation, and a property test."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scansnap_core.lab.fields import ConfigError
from scansnap_core.scan_snap.config import FIELD_SECTION, DataConfig, RunConfig, TrainConfig
from scansnap_core.scan_snap.engine import Engine
from scansnap_core.scan_snap.fields import FIELD_HELP
from scansnap_core.scan_snap.presets import PRESETS, preset


@pytest.mark.parametrize("name, M, K", [("syn-small", 34, 2), ("syn-medium-1", 33, 2), ("syn-medium-3", 79, 6),
                                        ("syn-medium-5", 125, 10), ("syn-medium-10", 240, 20),
                                        ("fig3", 1002, 10), ("large", 10002, 100)])
def test_preset_vocabulary_sizes_match_the_paper_layouts(name, M, K):
    cfg = preset(name)
    assert (cfg.vocab_size, cfg.num_classes) == (M, K)


def test_presets_carry_the_papers_training_settings():
    small = preset("syn-small")
    assert (small.model.init, small.train.optimizer, small.train.momentum) == ("zero", "sgd", 0.9)
    assert (small.train.batch_size, small.train.seq_len, small.train.eta_y, small.train.eta_z) == (128, 128, 1, 1)
    assert preset("syn-medium").model.init == "default" and preset("syn-medium").data.next_per_query == 2
    fig3 = preset("fig3")
    assert (fig3.train.momentum, fig3.train.eta_z, fig3.train.eta_y, fig3.data.num_query) == (0.0, 0.5, 1.0, 1)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("eta_y", -1.0, "eta_y = -1.0 is invalid: allowed 0 < eta_y <= 1000"),
        ("eta_y", 0, "eta_y = 0 is invalid: allowed 0 < eta_y <= 1000"),
        ("eta_z", float("nan"), "eta_z = nan is invalid: allowed 0 <= eta_z <= 1000"),
        ("batch_size", 2.5, "batch_size = 2.5 is invalid: allowed integer 1 <= batch_size <= 8192"),
        ("seq_len", 1, "seq_len = 1 is invalid: allowed integer 2 <= seq_len <= 8192"),
        ("steps", "ten", "steps = 'ten' is invalid: allowed integer 1 <= steps <= 1000000"),
        ("optimizer", "rmsprop", "optimizer = 'rmsprop' is invalid: allowed one of 'sgd', 'adam'"),
        ("normalize", "yes", "normalize = 'yes' is invalid: allowed true or false"),
        ("momentum", 1.0, "momentum = 1.0 is invalid: allowed 0 <= momentum <= 0.999"),
        ("num_query", True, "num_query = True is invalid: allowed integer 1 <= num_query <= 1000"),
        ("bogus", 1, "bogus = 1 is invalid: allowed known fields:"),
    ],
)
def test_invalid_values_name_field_value_and_range(field, value, expected):
    with pytest.raises(ConfigError) as err:
        preset("syn-small").replace(**{field: value})
    assert str(err.value).startswith(expected)
    assert err.value.field == field


def test_cross_field_rules():
    with pytest.raises(ConfigError, match=r"distinct_max = 0.05 is invalid: allowed distinct_max >= distinct_min"):
        DataConfig(distinct_min=0.1, distinct_max=0.05)
    with pytest.raises(ConfigError, match=r"vocab_size = 30311 is invalid: allowed M <= 20000"):
        DataConfig(num_query=1, next_per_query=300, distinct_per_class=100)
    with pytest.raises(ConfigError, match=r"distinct_per_class = 0 is invalid"):
        DataConfig(distinct_per_class=0, common_weight=0)
    with pytest.raises(ConfigError, match=r"distinct_weights = \(\(1.0,\),\) is invalid: allowed 2 rows"):
        DataConfig(distinct_per_class=1, distinct_weights=((1.0,),))
    with pytest.raises(ConfigError, match=r"distinct_weights\[1\]\[0\] = -1 is invalid"):
        DataConfig(distinct_per_class=1, distinct_weights=((1.0,), (-1,)))


def test_json_query_and_token_round_trips():
    custom = preset("syn-small").replace(distinct_per_class=3, distinct_weights=((1, 2, 3), (0.5, 0, 4)),
                                         residual=True, optimizer="adam", eta_y=0.25, mode="expected")
    for cfg in [custom] + [preset(n) for n in PRESETS]:
        assert RunConfig.from_json(cfg.to_json()) == cfg
        params = cfg.to_query_params()
        assert all(isinstance(v, str) for v in params.values())
        assert RunConfig.from_query_params(params) == cfg
        token = cfg.to_token()
        assert token.replace("-", "").replace("_", "").isalnum()
        assert RunConfig.from_token(token) == cfg
    assert RunConfig().to_query_params() == {}  # defaults stay out of the URL


@pytest.mark.parametrize("text, field", [("{", "config JSON"), ("[]", "config"), ('{"data": {"num_query": "x"}}',
                                                                                  "num_query"),
                                         ('{"train": {"eta_y": 1e400}}', "eta_y"), ('{"extra": {}}', "extra")])
def test_bad_json_is_a_config_error(text, field):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_json(text)
    assert err.value.field == field


def test_bad_query_params_and_tokens_are_config_errors():
    with pytest.raises(ConfigError, match="eta_y = 'fast' is invalid"):
        RunConfig.from_query_params({"eta_y": "fast"})
    with pytest.raises(ConfigError, match="residual = 'maybe' is invalid: allowed true or false"):
        RunConfig.from_query_params({"residual": "maybe"})
    with pytest.raises(ConfigError, match="config token"):
        RunConfig.from_token("not-a-token")


def test_every_field_has_help_text():
    assert set(FIELD_HELP) == set(FIELD_SECTION)


# ------------------------------------------------------------------ property test
_values = st.one_of(
    st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=5), st.sampled_from(["zero", "default", "sgd", "adam", "expected"]),
    st.floats(0.01, 50.0), st.integers(1, 12),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(st.sampled_from(sorted(FIELD_SECTION)), _values, max_size=5))
def test_any_configuration_either_trains_finitely_or_is_rejected_clearly(changes):
    base = preset("syn-small", batch_size=8, seq_len=12, steps=3)
    try:
        cfg = base.replace(**changes)
    except ConfigError as err:
        assert err.field and str(err).startswith(f"{err.field} = ")
        return
    if cfg.vocab_size > 3000 or cfg.train.batch_size * cfg.train.seq_len > 5000:
        return  # valid but too large to train inside a property test
    engine = Engine(cfg)
    engine.step(3)
    engine.ensure_final_record()
    rec = engine.records[-1]
    for array in (rec.attention, rec.logits, rec.correct_prob, rec.loss):
        if engine.diverged_at[0] < 0:
            assert np.isfinite(array).all()
    if engine.diverged_at[0] < 0:
        assert np.isfinite(engine.losses).all()
    assert np.allclose(rec.attention.sum(-1), 1, atol=1e-5) or engine.diverged_at[0] >= 0


def test_train_config_alone_validates():
    with pytest.raises(ConfigError, match="record_every = 0"):
        TrainConfig(record_every=0)
    assert math.isclose(RunConfig().eta_ratio, 1.0)
    assert json.loads(RunConfig().to_json())["train"]["mode"] == "sgd"


def test_review_regressions_in_validation():
    with pytest.raises(ConfigError, match="steps = .* is invalid"):
        RunConfig.from_json('{"train": {"steps": 1' + "0" * 400 + "}}")  # too large for a float
    assert preset("syn-small").replace(seed=np.int64(3), eta_y=np.float32(0.5)).train.seed == 3
    exact = preset("syn-small").replace(distinct_per_class=2, distinct_weights=((0.123456789, 1), (1, 2)))
    assert RunConfig.from_query_params(exact.to_query_params()) == exact
    import base64
    import zlib
    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * 50_000_000 + b"]", 9)).decode()
    with pytest.raises(ConfigError, match="config token"):
        RunConfig.from_token(bomb)

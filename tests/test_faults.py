"""Faults and bad input: fuzzed URLs and config files only ever produce a clear
message, and a trainer that crashes shows the error in its own session, which can Reset and run
again."""

import json
import math
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from scansnap_app.controls import config_from_url, live_lab_link
from scansnap_core.lab.fields import ConfigError
from scansnap_core.lab.limits import LIMITS
from scansnap_core.lab.runner import Status
from scansnap_core.scan_snap.config import FIELD_SECTION, RunConfig
from scansnap_core.scan_snap.presets import PRESETS, preset

from test_live_lab import APP, control, lab_of

pytestmark = pytest.mark.usefixtures("fresh_registry")

FIELDS = sorted(FIELD_SECTION)
_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e309", "-0", "0", "1e-320", "9" * 400, "true", "[1,2]", "{}",
                     "0x10", "1_000", " 5 ", "", "null", "None", "adam", "sgd", "zero", "expected"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.dictionaries(st.one_of(st.sampled_from(FIELDS + ["preset"]), st.text(max_size=12)), _text,
                              max_size=8))
def test_any_url_gives_a_valid_config_and_a_notice_per_ignored_value(params):
    name, cfg, notices = config_from_url(params)
    assert isinstance(cfg, RunConfig) and name in PRESETS
    assert cfg == RunConfig.from_json(cfg.to_json())  # valid: it round-trips through validation
    for field in params:
        reported = any(n.startswith(f"{field} = ") for n in notices)
        assert reported or field in FIELD_SECTION or field == "preset"  # an unknown field is always reported
    for notice in notices:
        assert " is invalid: allowed " in notice or " is not a preset " in notice


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.floats(allow_nan=True), st.integers(), st.text(max_size=10)),
                        lambda children: st.one_of(st.lists(children, max_size=4),
                                                   st.dictionaries(st.sampled_from(["data", "model", "train", "x"] + FIELDS),
                                                                   children, max_size=5)),
                        max_leaves=20))
def test_any_json_document_is_a_config_or_a_config_error(doc):
    text = json.dumps(doc, allow_nan=True)
    try:
        cfg = RunConfig.from_json(text)
    except ConfigError as err:
        assert " is invalid: allowed " in str(err)
    else:
        assert all(not isinstance(v, float) or math.isfinite(v) for v in cfg.flat().values())


def test_hostile_config_files_get_a_named_message():
    cases = {
        b"{not json": "config JSON = ",
        b"[" * 100_000: "config JSON = ",
        b'{"train": {"eta_y": 1e999}}': "eta_y = inf is invalid",
        b'{"train": {"eta_y": NaN}}': "eta_y = nan is invalid",
        b'{"train": {"steps": 99999999999999999999999}}': "steps = 99999999999999999999999 is invalid",
        b'{"train": {"steps": "many"}}': "steps = 'many' is invalid",
        b'{"data": {"num_query": [1, 2]}}': "num_query = [1, 2] is invalid",
        b'"just a string"': "is invalid",
        b" " * 2_000_001: "config JSON = '2,000,001 bytes' is invalid: allowed at most 2,000,000 bytes",
    }
    for text, message in cases.items():
        try:
            RunConfig.from_json(text)
        except ConfigError as err:
            assert message in str(err), (text[:40], str(err))
        else:
            raise AssertionError(f"accepted {text[:40]!r}")


def test_a_crash_inside_the_trainer_shows_in_that_session_which_can_reset_and_run_again(fresh_registry):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.number_input(key="steps").set_value(200).run()
    lab = lab_of(fresh_registry)

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault")

    lab.runner.engines[0].step = broken  # the next step fails inside the worker thread
    control(at, "start").click().run()
    assert lab.runner.wait(30) == Status.ERROR
    at.run()
    assert not at.exception
    assert any("RuntimeError: injected fault" in e.value and "Press Reset" in e.value for e in at.error)
    control(at, "reset").click().run()
    assert lab.runner.status == Status.IDLE and not at.error
    control(at, "start").click().run()
    assert lab.runner.wait(60) == Status.FINISHED
    at.run()
    assert at.metric[0].value == "200 / 200" and not at.error


def test_a_url_is_read_as_one_configuration_and_bad_values_are_named_with_their_own_field():
    """A valid K = 9,000 configuration's URL used to fail field by field ("vocab_size = 99019 is invalid …
    — using 1 instead", 1 being another field's value) and load a different configuration."""
    big = preset("syn-small", num_query=90, next_per_query=100, distinct_per_class=1, common_global=1,
                 common_per_query=1)
    query = dict(urllib.parse.parse_qsl(live_lab_link(big, "syn-small").removeprefix("./?")))
    name, restored, notices = config_from_url(query)
    assert (name, restored, notices) == ("syn-small", big, [])
    _, cfg, notices = config_from_url({**query, "eta_y": "-1", "optimizer": "lion"})
    assert cfg == big and notices == [
        "eta_y = -1.0 is invalid: allowed 0 < eta_y <= 1000 — using 1.0 instead",
        "optimizer = 'lion' is invalid: allowed one of 'sgd', 'adam' — using 'sgd' instead"]
    _, cfg, notices = config_from_url({"preset": "syn-small", "num_query": "90", "next_per_query": "100"})
    assert cfg == preset("syn-small") and notices == [
        "num_query = '90', next_per_query = '100' do not fit together: vocab_size = 99100 is invalid: allowed "
        f"M <= {LIMITS.max_vocab} (M = common + groups x common_per_query + classes x distinct_per_class + queries + "
        "classes) — using the syn-small preset's values instead"]

"""Token layout, P(l|n), token kinds and the sampler (docs/THEORY.md §1, §7)."""

import numpy as np
import pytest

from scansnap_core.scan_snap.config import DataConfig
from scansnap_core.scan_snap.layout import Layout
from scansnap_core.scan_snap.presets import preset


def test_syn_small_layout_matches_the_reference_code():
    L = Layout(preset("syn-small").data)
    assert L.M == 34 and L.K == 2 and L.S == 20
    assert list(L.query_token) == [30, 31] and list(L.next_token) == [32, 33]
    assert list(L.token_kind[:10]) == ["common"] * 10 and list(L.token_kind[10:30]) == ["distinct"] * 20
    np.testing.assert_allclose(L.P.sum(axis=1), 1.0)
    np.testing.assert_allclose(L.P[0, :10], 1 / 15.5)  # common weight 1 of total 15.5
    np.testing.assert_allclose(L.P[0, 10:20], np.arange(1, 11) / 155)  # distinct i/155
    assert np.all(L.P[0, 20:] == 0) and np.all(L.P[1, 10:20] == 0)
    # support: common first, then distinct by increasing probability
    assert list(L.support[0]) == list(range(20)) and list(L.support[1][10:]) == list(range(20, 30))
    assert L.support_common[0].sum() == 10 and L.support_distinct[0].sum() == 10


def test_group_common_tokens_are_common_only_when_shared():
    shared = Layout(DataConfig(num_query=2, next_per_query=2, common_per_query=3, distinct_per_class=2))
    assert list(shared.token_kind[10:16]) == ["common"] * 6
    assert shared.omega[10] == 2  # shared by the two classes of query 0
    alone = Layout(DataConfig(num_query=2, next_per_query=1, common_per_query=3, distinct_per_class=2))
    assert list(alone.token_kind[10:16]) == ["distinct"] * 6  # |Ω(l)| = 1: distinct by definition


def test_explicit_weights_and_zero_overlap():
    L = Layout(DataConfig(num_query=1, next_per_query=2, distinct_per_class=3, common_global=1,
                          common_weight=0.0, distinct_weights=((1, 1, 2), (0, 3, 1))))
    assert L.P[:, 0].tolist() == [0.0, 0.0]  # overlap 0: the common slot is unused
    np.testing.assert_allclose(L.P[0, 1:4], [0.25, 0.25, 0.5])
    np.testing.assert_allclose(L.P[1, 4:7], [0, 0.75, 0.25])
    assert L.S == 3 and (L.support_prob > 0).sum() == 5


def test_sampler_is_deterministic_and_has_the_right_distribution():
    L = Layout(preset("syn-small").data)
    a = L.sample(np.random.default_rng(7), 4000, 128)
    b = L.sample(np.random.default_rng(7), 4000, 128)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    classes, counts = a
    assert counts.shape == (4000, L.S) and np.all(counts.sum(axis=1) == 127)
    assert abs(np.mean(classes == 0) - 0.5) < 0.03  # uniform classes
    for n in range(L.K):
        freq = counts[classes == n].sum(axis=0) / counts[classes == n].sum()
        np.testing.assert_allclose(freq, L.support_prob[n], atol=0.003)


@pytest.mark.parametrize("name", ["fig3", "syn-medium-10", "large"])
def test_supports_are_small_and_padded(name):
    L = Layout(preset(name).data)
    assert L.S < L.M / L.K + 20  # a class support, not the vocabulary
    assert np.all(L.support_prob[L.support_prob > 0] > 0)
    np.testing.assert_allclose(L.support_prob.sum(axis=1), 1.0)

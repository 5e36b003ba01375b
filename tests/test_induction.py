"""The induction-heads study's core (issue 12, in progress): the n-gram data and the χ² mutual information
of the candidate parent sets, against the reference values of the spec (d = 3, H = 3, D = 2)."""

import numpy as np
import pytest

from scansnap_core.induction.data import draw_tables, sample_sequences
from scansnap_core.induction.mutual_info import candidate_sets, chi2_mutual_information


def test_each_sequence_follows_its_own_table_over_its_parents():
    rng = np.random.default_rng(0)
    tokens, tables = sample_sequences(rng, n=4, length=20_000, vocab=3, parents=(1, 2), alpha=0.5)
    assert tokens.shape == (4, 20_001) and tokens.min() >= 0 and tokens.max() <= 2
    for n in range(4):  # the empirical transition law of each sequence is its own table
        x = tokens[n]
        config = x[1:-1] * 3 + x[:-2]  # (x_{t−1}, x_{t−2}) for t = 2 … L
        counts = np.zeros((9, 3))
        np.add.at(counts, (config, x[2:]), 1)
        seen = counts.sum(axis=1) > 2000
        np.testing.assert_allclose(counts[seen] / counts[seen].sum(axis=1, keepdims=True), tables[n][seen], atol=0.05)
    other, _ = sample_sequences(np.random.default_rng(0), n=4, length=200, vocab=3, parents=(1, 2), alpha=0.5)
    assert other.shape == (4, 201) and other.max() <= 2


def test_the_mixture_prior_blends_a_first_order_and_a_second_order_table():
    rng = np.random.default_rng(1)
    tables = draw_tables(rng, n=500, vocab=3, parents=(1, 2), alpha=0.5, mixture=0.0)
    np.testing.assert_allclose(tables[:, 0::3], tables[:, 1::3])  # λ = 0: x_{t−2} does not matter
    np.testing.assert_allclose(tables.sum(axis=2), 1.0)
    with pytest.raises(ValueError, match="parents"):
        draw_tables(rng, 2, 3, (1, 3), 0.5, mixture=0.5)


def test_the_modified_chi2_mutual_information_matches_the_spec_and_picks_the_true_parents():
    sets = candidate_sets(heads=3, degree=2)
    assert sets == [(), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3)]
    modified, plain = chi2_mutual_information(np.random.default_rng(0), 3, (1, 2), 0.1, sets, kernels=200)
    assert modified[(1, 2)] == pytest.approx(0.216, abs=0.01)  # the spec's reference values (Monte Carlo)
    assert modified[(2,)] == pytest.approx(0.189, abs=0.01) and modified[(2, 3)] == pytest.approx(0.187, abs=0.01)
    assert max(modified, key=modified.get) == (1, 2) and abs(modified[()]) < 1e-12 and abs(plain[()]) < 1e-12
    assert modified[(2,)] > modified[(1,)]  # with one parent allowed (D = 1) it is distance 2, not 1
    for s in sets:  # the ordinary one only grows when the set grows: alone it would always pick the largest
        for t in sets:
            if set(s) < set(t):
                assert plain[t] >= plain[s] - 1e-9


def test_the_mixture_trades_informativeness_against_complexity():
    """λ = 0.3, α = 0.5: both parents are real, but the modified χ²-MI prefers {1}; the ordinary one ranks
    {1, 2} above {1}."""
    modified, plain = chi2_mutual_information(np.random.default_rng(0), 3, (1, 2), 0.5, candidate_sets(2, 2),
                                              kernels=200, mixture=0.3)
    assert max(modified, key=modified.get) == (1,) and plain[(1, 2)] > plain[(1,)]

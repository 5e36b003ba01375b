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


def test_staged_training_shows_the_three_phases_of_the_spec():
    """A6 1, 3, 4 on a short CPU run (N = 500, L = 48, d = 3, α = 0.1, P = {1, 2}, H = M = 3, D = 2, w₊ = 2):
    stage I selects the heads of the true parents, stage II turns them into copiers of their parents and
    leaves the third head alone, stage III raises a monotonically to a loss near the Bayes-optimal one."""
    import torch

    from scansnap_core.induction.model import Params, matches
    from scansnap_core.induction.reference import bayes_loss, unigram_loss
    from scansnap_core.induction.training import STAGED, loss_of, train

    tokens, _ = sample_sequences(np.random.default_rng(0), n=500, length=48, vocab=3, parents=(1, 2), alpha=0.1)
    m = matches(torch.from_numpy(tokens), window=3)
    sets = [tuple(h - 1 for h in s) for s in candidate_sets(3, 2)]  # head indices
    params = Params.init(heads=3, window=3, sets=sets)
    rpe_start = torch.softmax(params.w.detach(), -1).clone()
    history: dict[int, list] = {0: [], 1: [], 2: []}
    train(params, m, record=lambda stage, step, loss: history[stage].append(
        (loss, params.selector.detach().clone(), torch.softmax(params.w.detach(), -1).clone(), float(params.a.detach()))))
    after_selection = history[0][-1][1]
    assert sets[int(after_selection.argmax())] == (0, 1) and float(after_selection.max()) >= 0.8  # A6 1
    rpe = history[1][-1][2]
    assert float(rpe[0, 0]) >= 0.95 and float(rpe[1, 1]) >= 0.95  # A6 3: copiers of distances 1 and 2
    assert float((rpe[2] - rpe_start[2]).abs().max()) < 0.02  # the unselected head did not move
    a = [entry[3] for entry in history[2]]
    assert all(later >= earlier for earlier, later in zip(a, a[1:])) and a[-1] > 3  # A6 4: a never decreases
    final, unigram = float(loss_of(params, m).detach()), unigram_loss(tokens)
    bayes = bayes_loss(tokens, (1, 2), vocab=3, alpha=0.1)
    assert history[0][0][0] == pytest.approx(unigram, abs=0.02)  # the model starts as the in-context unigram
    assert final < 0.5 * unigram and final - bayes < 0.1, (final, unigram, bayes)
    assert sum(stage.steps for stage in STAGED) == 400

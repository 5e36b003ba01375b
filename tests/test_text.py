"""The real-text study's core: the tokeniser and corpora, uploads that cannot be used, the configuration, the
dynamics the paper's Sec. 8 reports (as numbers, fixed seeds), the figures and the CLI contract."""

import json
import shlex

import numpy as np
import pytest

from scansnap_core.lab import figure_style
from scansnap_core.lab.fields import ConfigError
from scansnap_core.text import corpus as corpus_module
from scansnap_core.text.config import TextConfig
from scansnap_core.text.corpus import UNK, UploadError, corpus, register_upload, tokenize
from scansnap_core.text.engine import TextView, uniform_entropy
from scansnap_core.text.results import compare, comparison_configs, comparison_summary, train


@pytest.fixture(autouse=True)
def validated_figures(monkeypatch):
    monkeypatch.setattr(figure_style, "VALIDATE", True)


def prose(words: int, seed: int = 0) -> bytes:
    """``words`` words of the built-in help topics, from a seed-chosen start: real English of any length."""
    text = " ".join(corpus("topics").words[corpus("topics").train_codes])
    start = np.random.default_rng(seed).integers(0, 1000)
    return " ".join(text.split()[start:start + words]).encode()


def test_the_basic_english_tokeniser():
    assert tokenize('It\'s (a) "test", x: y; done!<br />Why? 3.5') == [
        "it", "'", "s", "(", "a", ")", "test", ",", "x", "y", "done", "!", "why", "?", "3", ".", "5"]


def test_a_corpus_keeps_the_most_frequent_training_words_and_maps_the_rest_to_unk():
    text = ("b a c a b a d " * 4000).encode()  # 28,000 tokens: a 12,000, b 8,000, c and d 4,000 each
    c = corpus(register_upload("tiny.txt", text))
    assert (c.tokens_train, c.tokens_val) == (25200, 2800)  # a contiguous 90 % / 10 % split
    train_ids, val_ids, vocabulary = c.encode(3)
    assert list(vocabulary) == [UNK, "a", "b"]  # by count; c and d become <unk>
    assert train_ids[:7].tolist() == [2, 1, 0, 1, 2, 1, 0]
    assert val_ids.size == 2800 and set(val_ids.tolist()) == {0, 1, 2}
    assert list(c.encode(5)[2]) == [UNK, "a", "b", "c", "d"]  # ties: first appearance first


def test_a_literal_unk_in_the_text_is_the_unknown_word():
    c = corpus(register_upload("wiki.txt", ("the <unk> cat sat on the <unk> mat . " * 3000).encode()))
    train_ids, _, vocabulary = c.encode(10)
    assert list(vocabulary).count(UNK) == 1 and vocabulary[0] == UNK
    assert train_ids[:3].tolist() == [1, 0, list(vocabulary).index("cat")]


def test_the_server_lets_go_of_old_uploads_with_a_message(monkeypatch):
    monkeypatch.setattr(corpus_module, "_UPLOADS", corpus_module.OrderedDict())
    first = register_upload("first.txt", prose(23000))
    for i in range(corpus_module.MAX_UPLOADS):
        register_upload(f"next{i}.txt", prose(23000, seed=i + 1))
    with pytest.raises(ConfigError, match=r"corpus = 'upload-\w+' is invalid: allowed 'topics' or 'docstrings', or a "
                                          r"file uploaded to this server \(it keeps the 8 most recent uploads"):
        TextConfig(corpus=first)
    assert len(corpus_module._UPLOADS) == corpus_module.MAX_UPLOADS


def test_the_built_in_corpora_are_python_prose():
    topics = corpus("topics")
    assert 70_000 < topics.tokens_train < 80_000 and 7_000 < topics.tokens_val < 9_000
    _, val_ids, vocabulary = topics.encode(2000)
    assert vocabulary[0] == UNK and "the" in set(vocabulary[:5]) and (val_ids == 0).mean() < 0.15


@pytest.mark.parametrize("data, message", [
    (b"", "empty.txt is empty: give UTF-8 English text of at least 20,000 tokens"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "empty.txt looks binary (it contains NUL bytes): give a UTF-8 .txt or .md file"),
    ("café".encode("latin-1"), "empty.txt is not UTF-8 text (byte 0xe9 at offset 3 cannot be decoded): save it as "
                               "UTF-8 and try again"),
    (b"only a few words here", "empty.txt has 5 tokens: at least 22,222 are needed for a 90 % / 10 % split"),
])
def test_unusable_uploads_say_what_is_wrong(data, message):
    with pytest.raises(UploadError) as err:
        register_upload("empty.txt", data)
    assert str(err.value) == message and isinstance(err.value, ConfigError)


def test_uploads_over_the_size_cap_and_too_small_validation_files_are_refused(monkeypatch):
    monkeypatch.setattr(corpus_module, "MAX_UPLOAD_BYTES", 1000)
    with pytest.raises(UploadError, match=r"big.txt is 0.0 MB: at most 0 MB of text is allowed"):
        register_upload("big.txt", b"x " * 600)
    monkeypatch.undo()
    with pytest.raises(UploadError, match="val.md has 3 tokens: a validation file needs at least 2,000"):
        register_upload("train.md", prose(21000), "val.md", b"three short words")
    name = register_upload("train.md", prose(21000), "val.md", prose(3000, seed=1))
    assert corpus(name).files == ("train.md", "val.md") and corpus(name).tokens_val >= 3000


def test_the_configuration_names_the_field_the_value_and_the_range():
    with pytest.raises(ConfigError, match="corpus = 'wikitext' is invalid: allowed 'topics' or 'docstrings'"):
        TextConfig(corpus="wikitext")
    with pytest.raises(ConfigError, match=r"drift_every = 50 is invalid: allowed a multiple of 20"):
        TextConfig(drift_every=50)
    with pytest.raises(ConfigError, match=r"allowed 0 < lr <= 20"):
        TextConfig(lr=0)
    assert TextConfig.from_query_params(TextConfig(lr=1, layers=2).to_query_params()) == TextConfig(lr=1, layers=2)


def test_attention_sparsifies_faster_at_a_larger_learning_rate_and_freezes_at_lr_1():
    """The paper's Sec. 8 on Python's help topics, seed 0 (docs/THEORY.md, "Real text").  Seeds 0–3 measured:
    after 300 steps at lr 5 the entropy fell by 0.45–0.55 from 2.62 and lay 0.17–0.29 below lr 1's at the same
    step; at lr 1 the drift after 500 steps was 0.49–0.58 of its peak and 0.42–0.52 after 800 (frozen from step
    400)."""
    fast, slow = train(TextConfig(lr=5, steps=300)), train(TextConfig(lr=1, steps=500))
    start = fast.entropy[0, 0]
    assert start == pytest.approx(uniform_entropy(35), abs=0.02) and uniform_entropy(35) == pytest.approx(2.6325,
                                                                                                         abs=1e-4)
    at_300 = slow.entropy[list(slow.eval_steps).index(300), 0]
    assert fast.entropy[-1, 0] < start - 0.3 and fast.entropy[-1, 0] < at_300 - 0.1
    drift = slow.drift[:, 0]
    assert slow.drift_steps.tolist() == list(range(100, 501, 100))
    assert drift[-1] < 0.7 * drift.max() and slow.freeze_step(0) is not None and fast.freeze_step(0) is None
    assert slow.val_loss[-1] < slow.val_loss[0] - 2
    # the figures, the summary and the tables of the same run
    from scansnap_core.text.figures import FIGURES
    from scansnap_core.text.results import summarize, tables

    for build in FIGURES.values():
        build(slow)
    summary = summarize(slow)
    assert summary["layers"]["1"]["freeze_step"] == slow.freeze_step(0) and summary["entropy_uniform"] > 2.63
    maps = tables(slow)["attention_maps"]
    assert maps.groupby(["step", "query"])["attention"].sum().round(4).eq(1).all()  # every row a distribution


def test_freezing_is_the_first_drift_after_the_peak_that_stays_low():
    def view(drift):
        drift = np.array(drift, dtype=float)[:, None]
        return TextView(TextConfig(), np.zeros(1), np.zeros(0), np.zeros(0), np.zeros((0, 1)),
                        np.arange(1, drift.shape[0] + 1) * 100, drift, np.zeros(0), np.zeros((0, 1, 35, 35)), [],
                        {"training tokens": 0, "validation tokens": 0, "validation sequences measured": 0})

    assert view([0.1, 0.2, 0.11, 0.09, 0.1]).freeze_step(0) == 300  # 0.12 is the line
    assert view([0.1, 0.2, 0.11, 0.13, 0.1]).freeze_step(0) == 500
    assert view([0.1, 0.2, 0.11, 0.09, 0.15]).freeze_step(0) is None  # moving again
    assert view([0.3, 0.1]).freeze_step(0) == 200 and view([0.3]).freeze_step(0) is None


def test_uploaded_words_reach_the_charts_as_text():
    name = register_upload("html.txt", (b"<b>bold</b> <a href=x>link</a> " * 8000))
    from scansnap_core.text.figures import attention_maps_figure

    fig = attention_maps_figure(train(TextConfig(corpus=name, steps=2, vocab=100)))
    labels = list(fig.data[0].x)
    assert "0·&lt;b&gt;bold&lt;/b&gt;" in labels and not any("<" in label for label in labels)


def test_the_comparison_trains_each_rate_and_stops_when_asked():
    configs = comparison_configs(TextConfig(steps=100), [1, 5], [0])
    reports = []
    table = compare(configs, progress=lambda done, total, work: reports.append(done))
    assert table[["lr", "seed", "layer"]].values.tolist() == [[1, 0, 1], [5, 0, 1]]
    assert reports == [0.5, 1.0, 1.5, 2.0]
    summary = comparison_summary(table)
    assert summary["entropy_mean"].tolist() == table["entropy_end"].tolist()
    stopped = compare(configs, should_stop=lambda: True)
    assert len(stopped) == 0


def test_the_cli_writes_the_promised_files_and_a_reproducing_command(tmp_path):
    from scansnap_core.cli import main
    from scansnap_core.text.export import cli_command

    text = tmp_path / "essay.txt"
    text.write_bytes(prose(30000))
    out = tmp_path / "run"
    assert main(["text", "run", "--text-file", str(text), "--steps", "40", "--drift-every", "20", "--vocab", "500",
                 "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"entropy_uniform", "val_loss_start", "val_loss_end", "tokens_train", "tokens_val"} <= set(summary)
    assert summary["tokens_train"] == 27000 and summary["tokens_val"] == 3000 and summary["files"] == ["essay.txt"]
    assert {"entropy_start", "entropy_end", "drift_first", "drift_last", "freeze_step"} <= set(summary["layers"]["1"])
    for table in ("steps", "evaluation", "drift", "attention_maps"):
        assert (out / f"{table}.parquet").exists() and (out / f"{table}.csv").exists()
    config = TextConfig.from_dict(json.loads((out / "config.json").read_text()))
    command = cli_command(config, out="again")
    assert command == "python -m scansnap_core text run --text-file essay.txt --vocab 500 --steps 40 --drift-every 20 " \
                      "--out again"
    assert main(["text", "run", "--vocab", "50", "--out", str(out)]) == 2
    sweep = tmp_path / "sweep"
    assert main(["text", "sweep", "--lr", "1", "5", "--steps", "20", "--out", str(sweep), "--quiet"]) == 0
    by_lr = json.loads((sweep / "summary.json").read_text())["by_lr"]
    assert [row["lr"] for row in by_lr] == [1.0, 5.0] and (sweep / "runs.parquet").exists()
    assert shlex.split(cli_command(TextConfig(corpus="docstrings", lr=1)))[5:9] == ["--corpus", "docstrings", "--lr",
                                                                                   "1.0"]

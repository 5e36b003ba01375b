"""The real-text study's validated configuration (docs/THEORY.md, "Real text").  Every invalid value raises
:class:`~scansnap_core.lab.fields.ConfigError` naming the field, the value and the allowed range; the page, the CLI
and the URL state read ``TextConfig.FIELDS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..lab.fields import ConfigError, FieldTable, Range
from ..lab.flat_config import FlatConfig
from .corpus import BUILTIN, corpus, is_corpus

__all__ = ["EVAL_EVERY", "TextConfig"]

#: validation entropy, loss and attention snapshots are measured every this many steps (and at the end)
EVAL_EVERY = 20

TEXT_FIELDS = FieldTable(
    ranges={"vocab": Range(100, 20000, integer=True), "layers": Range(1, 3, integer=True),
            "d_model": Range(16, 256, integer=True), "dropout": Range(0, 0.5), "lr": Range(0, 20, lo_open=True),
            "clip": Range(0, 10), "batch": Range(1, 128, integer=True), "context": Range(8, 128, integer=True),
            "steps": Range(1, 20000, integer=True), "drift_every": Range(EVAL_EVERY, 1000, integer=True),
            "seed": Range(0, 2**31 - 1, integer=True)},
    choices={"optimizer": ("sgd", "adam")},
    help={
        "corpus": "the text: " + "; ".join(f"'{k}', {v}" for k, v in BUILTIN.items()) + "; or an uploaded file",
        "vocab": "vocabulary: the most frequent training words, plus <unk> for the rest",
        "layers": "transformer layers (post-LayerNorm, one head, causal mask, sinusoidal positions)",
        "d_model": "embedding and feed-forward width",
        "dropout": "dropout on the embeddings, the attention output and the feed-forward layer",
        "optimizer": "'sgd' (plain, no momentum; the feed-forward weights at twice the rate, as the paper's runs) "
                     "or 'adam'",
        "lr": "learning rate (constant): SGD 1–5 as in the paper's Fig. 10; Adam about 1e-3",
        "clip": "gradient-norm clipping (0: off)",
        "batch": "sequences per step (random windows of the training text)",
        "context": "tokens per sequence (the attention maps are context × context)",
        "steps": "optimizer steps",
        "drift_every": f"drift: the attention's change between snapshots this many steps apart (a multiple of "
                       f"{EVAL_EVERY})",
        "seed": "random seed of the initialisation, the dropout and the training windows",
    },
    labels={"corpus": "Corpus", "vocab": "Vocabulary", "layers": "Layers", "d_model": "Width d", "dropout": "Dropout",
            "optimizer": "Optimizer", "lr": "Learning rate", "clip": "Gradient clip", "batch": "Batch",
            "context": "Context", "steps": "Steps", "drift_every": "Drift interval", "seed": "Seed"},
    custom={"corpus": ("corpus", str)},
)


@dataclass(frozen=True)
class TextConfig(FlatConfig):
    """A standard transformer trained on English text: does its attention sparsify and freeze?"""

    corpus: str = "topics"
    vocab: int = 2000
    layers: int = 1
    d_model: int = 64
    dropout: float = 0.2
    optimizer: str = "sgd"
    lr: float = 5.0
    clip: float = 0.5
    batch: int = 20
    context: int = 35
    steps: int = 800
    drift_every: int = 100
    seed: int = 0

    FIELDS: ClassVar[FieldTable] = TEXT_FIELDS

    @classmethod
    def check_field(cls, name: str, value: Any) -> Any:
        if name == "corpus":
            if not isinstance(value, str):
                raise ConfigError("corpus", value, " or ".join(repr(k) for k in BUILTIN) + ", or an uploaded file")
            if not is_corpus(value):
                corpus(value)  # raises ConfigError saying which corpora there are
            return value
        return super().check_field(name, value)

    def _check(self) -> None:
        if self.drift_every % EVAL_EVERY:
            raise ConfigError("drift_every", self.drift_every, f"a multiple of {EVAL_EVERY} (snapshots are taken "
                                                               f"every {EVAL_EVERY} steps)")

"""Scan & Snap's field table (:class:`~scansnap_core.lab.fields.FieldTable`): what each
configuration field may hold (range or choices), its help text, its label on the controls, and its
text form in URLs.  The config validates with it; the sidebar controls, the CLI and the URL state
read it.
"""

from __future__ import annotations

from ..lab.devices import DEVICE_CHOICES
from ..lab.fields import ConfigError, FieldTable, Range
from ..lab.limits import LIMITS

__all__ = ["FIELDS", "FIELD_CHOICES", "FIELD_HELP", "FIELD_LABELS", "field_bounds", "field_kind", "parse_field",
           "validate_fields"]

RANGES: dict[str, Range] = {
    # data
    "num_query": Range(1, 1000, integer=True),
    "next_per_query": Range(1, 1000, integer=True),
    "distinct_per_class": Range(0, 5000, integer=True),
    "common_global": Range(0, 5000, integer=True),
    "common_per_query": Range(0, 5000, integer=True),
    "distinct_min": Range(0, 1e6, lo_open=True),
    "distinct_max": Range(0, 1e6, lo_open=True),
    "common_weight": Range(0, 1e6),
    # model
    "init_scale": Range(0, 100),
    # train
    "eta_y": Range(0, 1000, lo_open=True),
    "eta_z": Range(0, 1000),
    "momentum": Range(0, 0.999),
    "batch_size": Range(1, 8192, integer=True),
    "seq_len": Range(2, 8192, integer=True),
    "steps": Range(1, LIMITS.max_steps, integer=True),
    "seed": Range(0, 2**31 - 1, integer=True),
    "record_every": Range(1, 100_000, integer=True),
}

#: allowed values of the text fields
CHOICES: dict[str, tuple[str, ...]] = {
    "init": ("zero", "default"),
    "optimizer": ("sgd", "adam"),
    "mode": ("sgd", "expected"),
    "device": DEVICE_CHOICES,
}


#: One-line help for every field (CLI --help and the dashboard's tooltips).
HELP: dict[str, str] = {
    "num_query": "query tokens m; the classes that share a query compete for its attention row",
    "next_per_query": "next tokens (classes) per query token; K = num_query x next_per_query classes in all",
    "distinct_per_class": "tokens that occur in one class only: they tell the classes apart",
    "common_global": "tokens that occur in every class: they carry no information about the next token",
    "common_per_query": "tokens shared by the classes of one query group only",
    "distinct_min": "weight of the rarest distinct token: the ramp of P(l|n) over a class's distinct tokens "
                    "starts here",
    "distinct_max": "weight of the most frequent distinct token: the ramp ends here",
    "common_weight": "weight of each common token, against the distinct ramp: the overlap between classes",
    "distinct_weights": "explicit distinct-token weights, one row per class (overrides the ramp)",
    "normalize": "l2-normalise the attention-weighted token histogram (the theory does)",
    "residual": "add the query token's one-hot before normalising (the reference code's residual)",
    "init": "initial Y and Z: 'zero' (the theory) or 'default' (PyTorch nn.Linear, U(-s/sqrt(M), s/sqrt(M)))",
    "init_scale": "s of the default init: larger = a stronger random prior on which tokens win",
    "eta_y": "how fast the decoder Y learns; the theory needs it much faster than eta_Z, and a larger one snaps sooner",
    "eta_z": "how fast the attention Z learns; a larger one ends with sparser attention",
    "optimizer": "'sgd' (heavy-ball momentum) or 'adam'; Y and Z have separate optimizers",
    "momentum": "SGD momentum mu (0 = plain SGD, as in the theory; ignored by Adam)",
    "batch_size": "sequences averaged per step (sgd mode): more = less noisy steps",
    "seq_len": "sequence length T: T-1 context tokens plus the query (sgd mode); the theory takes T -> infinity",
    "steps": "optimizer steps to train",
    "seed": "random seed of the data and the init: the same seed gives the same run",
    "mode": "'sgd' (sampled minibatches) or 'expected' (the deterministic T->infinity class-averaged update)",
    "record_every": "keep the per-class metrics every this many steps (loss and ||dZ|| every step)",
    "rate_changes": "learning-rate changes during the run: from step s on, eta_Y and eta_Z (rows 's,eta_Y,eta_Z')",
    "device": "where to train: 'auto' (a CUDA GPU when torch sees one, else the CPU), 'cpu' or 'cuda'; the "
              "numbers agree within float32 rounding",
}


#: The label of each field on the dashboard's controls.
LABELS: dict[str, str] = {
    "num_query": "Query tokens",
    "next_per_query": "Next tokens per query",
    "distinct_per_class": "Distinct tokens per class",
    "common_global": "Common tokens (all classes)",
    "common_per_query": "Common tokens per query group",
    "distinct_min": "Distinct ramp: least likely weight",
    "distinct_max": "Distinct ramp: most likely weight",
    "common_weight": "Common-token weight (overlap)",
    "distinct_weights": "Distinct weights per class",
    "normalize": "ℓ2 normalisation",
    "residual": "Residual (query token)",
    "init": "Init",
    "init_scale": "Init scale",
    "eta_y": "η_Y (decoder)",
    "eta_z": "η_Z (attention)",
    "optimizer": "Optimizer",
    "momentum": "Momentum μ",
    "batch_size": "Batch size",
    "seq_len": "Sequence length T",
    "steps": "Steps",
    "seed": "Seed",
    "mode": "Mode",
    "record_every": "Record every (steps)",
    "rate_changes": "Learning-rate changes",
    "device": "Device",
}


def _parse_weights(text: str) -> tuple[tuple[float, ...], ...] | None:
    """distinct_weights in a URL: rows separated by ';' of numbers separated by ','."""
    if text == "":
        return None
    try:
        return tuple(tuple(float(w) for w in row.split(",")) for row in text.split(";"))
    except ValueError:
        raise ConfigError("distinct_weights", text, "rows separated by ';' of numbers separated by ','") from None


def _parse_rate_changes(text: str) -> tuple[tuple[float, ...], ...]:
    """rate_changes in a URL: rows 'step,eta_Y,eta_Z' separated by ';' (empty: none)."""
    if text == "":
        return ()
    try:
        return tuple(tuple(float(v) for v in row.split(",")) for row in text.split(";"))
    except ValueError:
        raise ConfigError("rate_changes", text, "rows 'step,eta_Y,eta_Z' separated by ';'") from None


FIELDS = FieldTable(RANGES, CHOICES, HELP, LABELS, custom={"distinct_weights": ("weights", _parse_weights),
                                                           "rate_changes": ("schedule", _parse_rate_changes)})
FIELD_CHOICES, FIELD_HELP, FIELD_LABELS = FIELDS.choices, FIELDS.help, FIELDS.labels
field_bounds, field_kind, parse_field, validate_fields = FIELDS.bounds, FIELDS.kind, FIELDS.parse, FIELDS.validate

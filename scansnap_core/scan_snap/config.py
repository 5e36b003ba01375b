"""Validated, serialisable run configuration (the paper's presets: :mod:`scansnap_core.scan_snap.presets`).

A :class:`RunConfig` has three parts, mirroring docs/THEORY.md:

* :class:`DataConfig` — the sequence classes of §1 in the token layout of the
  authors' ``Dataset2`` (§7): global common tokens, per-query-group common
  tokens, distinct tokens per class, query tokens, next tokens.
* :class:`ModelConfig` — the Y/Z model of §2 (ℓ2 normalisation, residual, init).
* :class:`TrainConfig` — learning rates η_Y, η_Z, optimizer, batch, T, steps,
  seed and the ``mode``: ``sgd`` (sampled minibatches) or ``expected`` (the
  deterministic T→∞ class-averaged update, §3 "Expected (population) update").

Every invalid value raises :class:`~scansnap_core.lab.fields.ConfigError`, whose message names
the field, the value and the allowed range (the per-field rules live in :mod:`scansnap_core.scan_snap.fields`;
the cross-field rules here).  Nothing else escapes validation.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import zlib
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ..lab.fields import ConfigError, Range, short_repr, to_text
from ..lab.limits import LIMITS
from .fields import RANGES, parse_field, validate_fields

__all__ = [
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "RunConfig",
    "MAX_VOCAB",
    "FIELD_SECTION",
]

#: Largest config file accepted.
MAX_CONFIG_BYTES = 2_000_000
#: Largest vocabulary a run may have (SCANSNAP_MAX_VOCAB).  Y is M×M floats (§2): 20,000² float32 is 1.6 GB.
MAX_VOCAB = LIMITS.max_vocab


class _Validated:
    """Mixin: validate and normalise on construction (frozen dataclasses)."""

    def __post_init__(self) -> None:
        for name, value in validate_fields(self).items():
            object.__setattr__(self, name, value)
        self._check()

    def _check(self) -> None:  # cross-field rules
        pass

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]):
        if not isinstance(values, Mapping):
            raise ConfigError(cls.__name__, values, "a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(unknown[0], values[unknown[0]], "known fields: " + ", ".join(sorted(names)))
        return cls(**dict(values))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class DataConfig(_Validated):
    """Sequence classes (docs/THEORY.md §1) in the token layout of ``Dataset2`` (§7).

    Token ids, in order: ``common_global`` global common tokens; ``common_per_query``
    common tokens for each query group; ``distinct_per_class`` distinct tokens for each
    class; one query token per group; one next token per class.  There are
    ``K = num_query * next_per_query`` classes; class n has query ψ(n) = n // next_per_query.

    P(l|n) is proportional to an unnormalised weight: ``common_weight`` for each common
    token (global or of n's group; this is the *overlap* between classes) and, for the
    distinct tokens, either the linear ramp ``distinct_min → distinct_max`` or the rows of
    ``distinct_weights`` (K rows of ``distinct_per_class`` weights ≥ 0).
    """

    num_query: int = 2
    next_per_query: int = 1
    distinct_per_class: int = 10
    common_global: int = 10
    common_per_query: int = 0
    distinct_min: float = 0.1
    distinct_max: float = 1.0
    common_weight: float = 1.0
    distinct_weights: tuple[tuple[float, ...], ...] | None = None

    @property
    def num_classes(self) -> int:
        """K, the number of next tokens (= sequence classes)."""
        return self.num_query * self.next_per_query

    @property
    def vocab_size(self) -> int:
        """M, the full vocabulary (the size of the decoder softmax, §6 "Units")."""
        q, k = self.num_query, self.num_classes
        return self.common_global + q * self.common_per_query + k * self.distinct_per_class + q + k

    def _check(self) -> None:
        if self.distinct_max < self.distinct_min:
            raise ConfigError("distinct_max", self.distinct_max, f"distinct_max >= distinct_min = {self.distinct_min:g}")
        if self.vocab_size > MAX_VOCAB:
            raise ConfigError(
                "vocab_size", self.vocab_size, f"M <= {MAX_VOCAB} (M = common + groups x common_per_query"
                " + classes x distinct_per_class + queries + classes)"
            )
        has_common = (self.common_global + self.common_per_query) > 0 and self.common_weight > 0
        if self.distinct_weights is not None:
            object.__setattr__(self, "distinct_weights", self._checked_weights(self.distinct_weights, has_common))
        elif self.distinct_per_class == 0 and not has_common:
            raise ConfigError(
                "distinct_per_class", 0, ">= 1 when there are no common tokens with positive common_weight"
            )

    def _checked_weights(self, rows: Any, has_common: bool) -> tuple[tuple[float, ...], ...]:
        k, d = self.num_classes, self.distinct_per_class
        shape = f"{k} rows (one per class) of {d} weights each, every weight finite and >= 0"
        if isinstance(rows, (str, bytes)) or not hasattr(rows, "__len__") or len(rows) != k:
            raise ConfigError("distinct_weights", rows, shape)
        out = []
        for n, row in enumerate(rows):
            if isinstance(row, (str, bytes)) or not hasattr(row, "__len__") or len(row) != d:
                raise ConfigError(f"distinct_weights[{n}]", row, shape)
            clean = []
            for j, w in enumerate(row):
                name = f"distinct_weights[{n}][{j}]"
                clean.append(Range(0, 1e6).check(name, w))
            if not has_common and sum(clean) <= 0:
                raise ConfigError(f"distinct_weights[{n}]", row, "a row with a positive sum when no common token has weight")
            out.append(tuple(clean))
        return tuple(out)

    def distinct_ramp(self) -> list[float]:
        """The unnormalised distinct-token weights of the linear ramp (same for every class)."""
        d = self.distinct_per_class
        if d == 1:
            return [self.distinct_max]
        step = (self.distinct_max - self.distinct_min) / (d - 1)
        return [self.distinct_min + i * step for i in range(d)]


@dataclass(frozen=True)
class ModelConfig(_Validated):
    """The reparameterised 1-layer model of docs/THEORY.md §2.

    ``normalize``: ℓ2-normalise the attention-weighted histogram (step 3).
    ``residual``: add the query one-hot before normalising (the code's residual, §2).
    ``init``: ``zero`` (Y = Z = 0, the theory's choice) or ``default`` (PyTorch nn.Linear:
    entries i.i.d. U(−s/√M, s/√M) with s = ``init_scale``).
    """

    normalize: bool = True
    residual: bool = False
    init: str = "zero"
    init_scale: float = 1.0


@dataclass(frozen=True)
class TrainConfig(_Validated):
    """Training loop.  Separate optimizers for Y (rate η_Y) and Z (rate η_Z), as in §2.

    ``momentum`` is the SGD heavy-ball coefficient μ (ignored by Adam, which uses
    β = (0.9, 0.999)).  ``mode='expected'`` replaces the sampled minibatch by the
    population update of §3 (classes weighted 1/K, T → ∞); batch_size and seq_len are
    then unused.  ``record_every`` sets how often the per-class metrics are recorded
    (loss and ‖ΔZ‖ are recorded every step).  ``rate_changes`` are the learning-rate changes made
    during the run, rows (step s, η_Y, η_Z): from step s on the run trains with those rates (a live
    change in the app is recorded here, so the run's config reproduces it).  ``device`` says where to train
    (:mod:`scansnap_core.lab.devices`; ``auto`` = a CUDA GPU when there is one).
    """

    eta_y: float = 1.0
    eta_z: float = 1.0
    optimizer: str = "sgd"
    momentum: float = 0.9
    batch_size: int = 128
    seq_len: int = 128
    steps: int = 100
    seed: int = 0
    mode: str = "sgd"
    record_every: int = 1
    rate_changes: tuple[tuple[float, ...], ...] = ()
    device: str = "auto"

    def _check(self) -> None:
        object.__setattr__(self, "rate_changes", self._checked_changes(self.rate_changes))

    def _checked_changes(self, rows: Any) -> tuple[tuple[int, float, float], ...]:
        shape = f"rows (step, eta_y, eta_z) with steps increasing within 1..{self.steps}"
        if isinstance(rows, (str, bytes)) or not hasattr(rows, "__len__") or len(rows) > self.steps:
            raise ConfigError("rate_changes", short_repr(rows), shape)
        out, last = [], 0
        for i, row in enumerate(rows):
            if isinstance(row, (str, bytes)) or not hasattr(row, "__len__") or len(row) != 3:
                raise ConfigError(f"rate_changes[{i}]", short_repr(row), shape)
            step = Range(last + 1, self.steps, integer=True).check(f"rate_changes[{i}] step", row[0])
            out.append((step, RANGES["eta_y"].check(f"rate_changes[{i}] eta_y", row[1]),
                        RANGES["eta_z"].check(f"rate_changes[{i}] eta_z", row[2])))
            last = step
        return tuple(out)

    def rates_at(self, step: int) -> tuple[float, float]:
        """(η_Y, η_Z) that step ``step`` (1-based) trains with."""
        eta_y, eta_z = self.eta_y, self.eta_z
        for s, y, z in self.rate_changes:
            if s > step:
                break
            eta_y, eta_z = y, z
        return eta_y, eta_z


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
#: flat field name -> section name (field names are unique across sections)
FIELD_SECTION: dict[str, str] = {f.name: s for s, cls in _SECTIONS.items() for f in fields(cls)}


@dataclass(frozen=True)
class RunConfig:
    """A complete, validated run: data + model + training."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for name, cls in _SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, getattr(self, name), f"a {cls.__name__}")

    # ------------------------------------------------------------------ derived
    @property
    def vocab_size(self) -> int:
        return self.data.vocab_size

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    @property
    def eta_ratio(self) -> float:
        """η_Y / η_Z (ν in §6); inf when η_Z = 0."""
        return self.train.eta_y / self.train.eta_z if self.train.eta_z > 0 else math.inf

    # ------------------------------------------------------------------ editing
    def replace(self, **flat: Any) -> "RunConfig":
        """Copy with fields changed by flat name, e.g. ``cfg.replace(eta_y=2, init='default')``."""
        parts: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
        for name, value in flat.items():
            if name not in FIELD_SECTION:
                raise ConfigError(name, value, "known fields: " + ", ".join(sorted(FIELD_SECTION)))
            parts[FIELD_SECTION[name]][name] = value
        return RunConfig(
            **{s: dataclasses.replace(getattr(self, s), **parts[s]) if parts[s] else getattr(self, s) for s in _SECTIONS}
        )

    def flat(self) -> dict[str, Any]:
        """All fields by flat name."""
        return {k: v for s in _SECTIONS for k, v in getattr(self, s).to_dict().items()}

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {s: getattr(self, s).to_dict() for s in _SECTIONS}

    @classmethod
    def from_dict(cls, values: Any) -> "RunConfig":
        if not isinstance(values, Mapping):
            raise ConfigError("config", values, "a JSON object with keys data, model, train")
        unknown = sorted(set(values) - set(_SECTIONS))
        if unknown:
            raise ConfigError(unknown[0], values[unknown[0]], "sections data, model, train")
        return cls(**{s: c.from_dict(values.get(s, {})) for s, c in _SECTIONS.items()})

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "RunConfig":
        if len(text) > MAX_CONFIG_BYTES:  # the app's uploads stop at 2 MB too (.streamlit/config.toml)
            raise ConfigError("config JSON", f"{len(text):,} bytes", f"at most {MAX_CONFIG_BYTES:,} bytes")
        try:
            values = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: absurdly nested input
            raise ConfigError("config JSON", short_repr(text), f"valid JSON ({exc})") from None
        return cls.from_dict(values)

    # ------------------------------------------------------------------ URL forms
    def to_query_params(self, base: "RunConfig | None" = None) -> dict[str, str]:
        """Flat ``{field: text}`` of the fields that differ from ``base`` (default config), for a URL."""
        default = (base or RunConfig()).flat()
        return {k: to_text(v) for k, v in self.flat().items() if v != default[k]}

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any], base: "RunConfig | None" = None) -> "RunConfig":
        """Inverse of :meth:`to_query_params`; fields not given come from ``base`` (default config)."""
        base = base or cls()
        current = base.flat()
        values = {}
        for name, text in params.items():
            if name not in FIELD_SECTION:
                raise ConfigError(name, text, "known fields: " + ", ".join(sorted(FIELD_SECTION)))
            values[name] = parse_field(name, text, current[name])
        return base.replace(**values)

    def to_token(self) -> str:
        """Compact URL-safe string (zlib-compressed JSON of the non-default fields)."""
        raw = json.dumps({k: _plain(v) for k, v in self.flat().items() if v != RunConfig().flat()[k]},
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(zlib.compress(raw.encode(), 9)).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> "RunConfig":
        try:
            padded = token + "=" * (-len(token) % 4)
            inflate = zlib.decompressobj()
            raw = inflate.decompress(base64.urlsafe_b64decode(padded.encode()), _MAX_TOKEN_BYTES)
            if inflate.unconsumed_tail:  # refuse a token that inflates past any real config
                raise ValueError("token too large")
            values = json.loads(raw)
        except Exception:  # any decoding failure is a bad token, reported as such
            raise ConfigError("config token", short_repr(token), "a string made by RunConfig.to_token()") from None
        if not isinstance(values, dict):
            raise ConfigError("config token", short_repr(token), "a string made by RunConfig.to_token()")
        return cls().replace(**values)


_MAX_TOKEN_BYTES = 1 << 20

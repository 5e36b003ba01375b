"""Validated, serialisable run configuration (the paper's presets: :mod:`scansnap_core.presets`).

A :class:`RunConfig` has three parts, mirroring docs/THEORY.md:

* :class:`DataConfig` — the sequence classes of §1 in the token layout of the
  authors' ``Dataset2`` (§7): global common tokens, per-query-group common
  tokens, distinct tokens per class, query tokens, next tokens.
* :class:`ModelConfig` — the Y/Z model of §2 (ℓ2 normalisation, residual, init).
* :class:`TrainConfig` — learning rates η_Y, η_Z, optimizer, batch, T, steps,
  seed and the ``mode``: ``sgd`` (sampled minibatches) or ``expected`` (the
  deterministic T→∞ class-averaged update, §3 "Expected (population) update").

Every invalid value raises :class:`ConfigError`, whose message names the field,
the value and the allowed range.  Nothing else escapes validation.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import numbers
import zlib
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from .limits import LIMITS

__all__ = [
    "ConfigError",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "RunConfig",
    "MAX_VOCAB",
    "FIELD_HELP",
    "FIELD_SECTION",
    "parse_field",
    "field_kind",
    "field_bounds",
    "FIELD_CHOICES",
]

#: Largest config file accepted.
MAX_CONFIG_BYTES = 2_000_000
#: Largest vocabulary a run may have (SCANSNAP_MAX_VOCAB).  Y is M×M floats (§2): 20,000² float32 is 1.6 GB.
MAX_VOCAB = LIMITS.max_vocab


class ConfigError(ValueError):
    """A configuration value is invalid.

    Attributes ``field``, ``value`` and ``allowed`` say what was wrong; ``str(err)``
    reads e.g. ``eta_y = -1.0 is invalid: allowed 0 < eta_y <= 1000``.
    """

    def __init__(self, field: str, value: Any, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r} is invalid: allowed {allowed}")


# --------------------------------------------------------------------------- field specs
@dataclass(frozen=True)
class _Range:
    """Allowed range of a numeric field; ``lo_open`` excludes the lower bound."""

    lo: float
    hi: float
    lo_open: bool = False
    integer: bool = False

    def describe(self, name: str) -> str:
        kind = "integer " if self.integer else ""
        lo_op = "<" if self.lo_open else "<="
        if self.integer:
            return f"{kind}{int(self.lo)} {lo_op} {name} <= {int(self.hi)}"
        return f"{kind}{self.lo:g} {lo_op} {name} <= {self.hi:g}"

    def check(self, name: str, value: Any) -> float | int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise ConfigError(name, value, self.describe(name))
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise ConfigError(name, _short(value), self.describe(name))
        if self.integer and value != int(value):
            raise ConfigError(name, value, self.describe(name))
        below = value <= self.lo if self.lo_open else value < self.lo
        if below or value > self.hi:
            raise ConfigError(name, value, self.describe(name))
        return int(value) if self.integer else float(value)


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ConfigError(name, value, "one of " + ", ".join(repr(o) for o in options))
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(name, value, "true or false")
    return value


_RANGES: dict[str, _Range] = {
    # data
    "num_query": _Range(1, 1000, integer=True),
    "next_per_query": _Range(1, 1000, integer=True),
    "distinct_per_class": _Range(0, 5000, integer=True),
    "common_global": _Range(0, 5000, integer=True),
    "common_per_query": _Range(0, 5000, integer=True),
    "distinct_min": _Range(0, 1e6, lo_open=True),
    "distinct_max": _Range(0, 1e6, lo_open=True),
    "common_weight": _Range(0, 1e6),
    # model
    "init_scale": _Range(0, 100),
    # train
    "eta_y": _Range(0, 1000, lo_open=True),
    "eta_z": _Range(0, 1000),
    "momentum": _Range(0, 0.999),
    "batch_size": _Range(1, 8192, integer=True),
    "seq_len": _Range(2, 8192, integer=True),
    "steps": _Range(1, LIMITS.max_steps, integer=True),
    "seed": _Range(0, 2**31 - 1, integer=True),
    "record_every": _Range(1, 100_000, integer=True),
}

#: allowed values of the text fields
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "init": ("zero", "default"),
    "optimizer": ("sgd", "adam"),
    "mode": ("sgd", "expected"),
}


def field_bounds(name: str) -> tuple[int, int] | tuple[float, float]:
    """(lowest, highest) value of a numeric field, for forms (an open lower bound is still rejected
    by validation, with a message naming it).  The one source of the ranges that controls show."""
    r = _RANGES[name]
    return (int(r.lo), int(r.hi)) if r.integer else (float(r.lo), float(r.hi))


def field_kind(name: str) -> str:
    """'int', 'float', 'choice', 'bool' or 'weights': how a flat field is typed (for CLIs and forms)."""
    if name in _RANGES:
        return "int" if _RANGES[name].integer else "float"
    if name in FIELD_CHOICES:
        return "choice"
    return "weights" if name == "distinct_weights" else "bool"


def _validate_fields(obj: Any) -> dict[str, Any]:
    """Check every field of a config dataclass; return the normalised values."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in _RANGES:
            out[f.name] = _RANGES[f.name].check(f.name, value)
        elif f.name in FIELD_CHOICES:
            out[f.name] = _choice(f.name, value, FIELD_CHOICES[f.name])
        elif f.type in ("bool", bool):
            out[f.name] = _flag(f.name, value)
        else:
            out[f.name] = value
    return out


class _Validated:
    """Mixin: validate and normalise on construction (frozen dataclasses)."""

    def __post_init__(self) -> None:
        for name, value in _validate_fields(self).items():
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
                clean.append(_Range(0, 1e6).check(name, w))
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
    (loss and ‖ΔZ‖ are recorded every step).
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


#: One-line help for every field (CLI --help and the dashboard's tooltips).
FIELD_HELP: dict[str, str] = {
    "num_query": "number of query tokens (groups of classes sharing a query)",
    "next_per_query": "next tokens (classes) per query token; K = num_query x next_per_query",
    "distinct_per_class": "distinct tokens per class (each appears in one class only)",
    "common_global": "common tokens shared by all classes",
    "common_per_query": "common tokens shared by the classes of one query group",
    "distinct_min": "unnormalised weight of the least likely distinct token (linear ramp start)",
    "distinct_max": "unnormalised weight of the most likely distinct token (linear ramp end)",
    "common_weight": "unnormalised weight of each common token: the overlap between classes",
    "distinct_weights": "explicit distinct-token weights per class (overrides the ramp)",
    "normalize": "l2-normalise the attention-weighted token histogram",
    "residual": "add the query token one-hot before normalising (the reference code's residual)",
    "init": "initial Y and Z: 'zero' (theory) or 'default' (PyTorch nn.Linear, U(-s/sqrt(M), s/sqrt(M)))",
    "init_scale": "scale s of the default init",
    "eta_y": "decoder learning rate eta_Y",
    "eta_z": "attention learning rate eta_Z",
    "optimizer": "'sgd' (heavy-ball momentum) or 'adam'; separate optimizers for Y and Z",
    "momentum": "SGD momentum mu (0 = plain SGD; ignored by Adam)",
    "batch_size": "sequences per minibatch (sgd mode)",
    "seq_len": "sequence length T: T-1 contextual tokens plus the query (sgd mode)",
    "steps": "optimizer steps",
    "seed": "random seed (data and init)",
    "mode": "'sgd' (sampled minibatches) or 'expected' (deterministic T->inf class-averaged update)",
    "record_every": "record per-class metrics every this many steps",
}

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
            raise ConfigError("config JSON", _short(text), f"valid JSON ({exc})") from None
        return cls.from_dict(values)

    # ------------------------------------------------------------------ URL forms
    def to_query_params(self, base: "RunConfig | None" = None) -> dict[str, str]:
        """Flat ``{field: text}`` of the fields that differ from ``base`` (default config), for a URL."""
        default = (base or RunConfig()).flat()
        return {k: _to_text(v) for k, v in self.flat().items() if v != default[k]}

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
            raise ConfigError("config token", _short(token), "a string made by RunConfig.to_token()") from None
        if not isinstance(values, dict):
            raise ConfigError("config token", _short(token), "a string made by RunConfig.to_token()")
        return cls().replace(**values)


_MAX_TOKEN_BYTES = 1 << 20


def _short(value: Any, limit: int = 60) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "…"


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):  # distinct_weights: rows ';'-separated, weights ','-separated
        return ";".join(",".join(repr(float(w)) for w in row) for row in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_field(name: str, text: Any, current: Any) -> Any:
    """Parse one query-parameter value according to the type of the field it sets (``current``
    is the field's present value, which gives its type)."""
    if not isinstance(text, str):
        return text
    t = text.strip()
    if name == "distinct_weights":
        if t == "":
            return None
        try:
            return tuple(tuple(float(w) for w in row.split(",")) for row in t.split(";"))
        except ValueError:
            raise ConfigError(name, text, "rows separated by ';' of numbers separated by ','") from None
    if isinstance(current, bool):
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(name, text, "true or false")
    if name in _RANGES:
        try:
            number = float(t)
        except ValueError:
            raise ConfigError(name, text, _RANGES[name].describe(name)) from None
        return number
    return t

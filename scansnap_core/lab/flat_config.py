"""A study's run configuration as one flat, frozen, validated dataclass: :class:`FlatConfig` gives it validation
through the study's :class:`~scansnap_core.lab.fields.FieldTable` (every invalid value raises ConfigError naming
the field, the value and the allowed range), ``replace``, JSON and URL forms.  The study writes its fields, its
table and its rules between fields (``_check``); fields of their own type override ``check_field`` and
``field_text``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields
from typing import Any, ClassVar, Mapping

from .fields import ConfigError, FieldTable, short_repr, to_text

__all__ = ["FlatConfig"]


class FlatConfig:
    """Mixin for ``@dataclass(frozen=True)`` configurations (see the module docstring)."""

    FIELDS: ClassVar[FieldTable]

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, self.check_field(f.name, getattr(self, f.name)))
        self._check()

    @classmethod
    def check_field(cls, name: str, value: Any) -> Any:
        """One field's value on its own (its range, choices or flag); the rules between fields are ``_check``'s."""
        return cls.FIELDS.check(name, value)

    @classmethod
    def field_text(cls, name: str, value: Any) -> str:
        """A field's value as URL or command-line text."""
        return to_text(value)

    def _check(self) -> None:
        """Rules between fields (ConfigError naming the field that breaks one)."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    # ------------------------------------------------------------------ editing
    def replace(self, **changes: Any):
        names = self.field_names()
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise ConfigError(unknown[0], changes[unknown[0]], "known fields: " + ", ".join(names))
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {name: list(v) if isinstance(v := getattr(self, name), tuple) else v for name in self.field_names()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]):
        if not isinstance(values, Mapping):
            raise ConfigError("config", short_repr(values), "a JSON object")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls().replace(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    # ------------------------------------------------------------------ URL
    def to_query_params(self, base: "FlatConfig | None" = None) -> dict[str, str]:
        """{field: text} of the fields that differ from ``base`` (default: the defaults), for a URL."""
        base = base or type(self)()
        return {name: self.field_text(name, getattr(self, name)) for name in self.field_names()
                if getattr(self, name) != getattr(base, name)}

    @classmethod
    def from_query_params(cls, params: Mapping[str, str], base: "FlatConfig | None" = None):
        """Inverse of :meth:`to_query_params`; fields not given come from ``base`` (default: the defaults)."""
        base = base or cls()
        names = cls.field_names()
        values = {}
        for name, text in params.items():
            if name not in names:
                raise ConfigError(name, text, "known fields: " + ", ".join(names))
            values[name] = cls.FIELDS.parse(name, text, getattr(base, name))
        return base.replace(**values)

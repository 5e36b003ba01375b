"""Controls for any :class:`~scansnap_core.lab.flat_config.FlatConfig`, drawn from its field table: a number
input per numeric field (its range), a selector per choice, a toggle per flag; and the URL state that goes with
them.  Widget keys are ``prefix + field``; a study with hand-made controls (Scan & Snap, induction heads) keeps
its own."""

from __future__ import annotations

from typing import Any

import streamlit as st

from scansnap_core.lab.fields import ConfigError

from .url_state import KEEP



def key(prefix: str, name: str) -> str:
    return prefix + name


def control_values(config: Any, prefix: str) -> dict[str, Any]:
    return {key(prefix, name): getattr(config, name) for name in config.field_names()}


def form(config_cls, prefix: str, container=None, fields: tuple[str, ...] | None = None) -> None:
    """Draw the widgets of ``fields`` (default: all) into ``container`` (default: the sidebar); their values
    start from the session state (see :func:`read_url`)."""
    table, box = config_cls.FIELDS, container or st.sidebar
    ss = st.session_state
    defaults = config_cls()  # for a field no URL set (the widgets keep their values for the session: url_state.KEEP)
    for name in config_cls.field_names():
        ss.setdefault(key(prefix, name), getattr(defaults, name))
    for name in fields or config_cls.field_names():
        k, label, help = key(prefix, name), table.labels[name], table.help[name]
        kind = table.kind(name)
        if kind in ("int", "float"):
            lo, hi = table.bounds(name)
            box.number_input(label, min_value=lo, max_value=hi, **KEEP, key=k, help=help,
                             format=None if kind == "int" else "%g",
                             step=1 if kind == "int" else _float_step(ss.get(k, lo)))
        elif kind == "choice":
            box.radio(label, table.choices[name], **KEEP, key=k, help=help, horizontal=True)
        elif kind == "bool":
            box.toggle(label, **KEEP, key=k, help=help)
        else:
            box.text_input(label, **KEEP, key=k, help=help)


def _float_step(value: float) -> float:
    """A step of about a tenth of the value's order of magnitude (0.01 for 0.1, 0.1 for 3)."""
    import math

    return 10 ** math.floor(math.log10(abs(value))) / 10 if value else 0.01


def current(config_cls, prefix: str) -> Any:
    """The configuration the widgets show (ConfigError for a combination that does not fit)."""
    ss = st.session_state
    return config_cls(**{name: ss[key(prefix, name)] for name in config_cls.field_names() if key(prefix, name) in ss})


def config_from_params(base: Any, params: dict[str, str], url_prefix: str = "",
                       base_name: str = "the default values") -> tuple[Any, list[str]]:
    """(configuration, notices) from the URL's ``url_prefix + field`` parameters on ``base``: each value on its own
    range first (one outside it is ignored with a notice naming field, value and range; so is an unknown field
    without a prefix), then all of them together (or none, with a notice naming ``base_name``)."""
    config_cls, fitting, notices = type(base), {}, []
    names = config_cls.field_names()
    for param, text in params.items():
        if not param.startswith(url_prefix):
            continue
        name = param[len(url_prefix):]
        if name not in names:
            notices.append(f"{param} = {text!r} is not a setting of this page — ignored")
            continue
        try:
            fitting[name] = config_cls.check_field(name, config_cls.FIELDS.parse(name, text, getattr(base, name)))
        except ConfigError as err:
            notices.append(f"{err} — using {getattr(base, name)!r} instead")
    try:
        return base.replace(**fitting), notices
    except ConfigError as err:
        shown = ", ".join(f"{url_prefix}{k} = {params[url_prefix + k]!r}" for k in fitting)
        return base, notices + [f"{shown} do not fit together: {err} — using {base_name} instead"]


def read_url(config_cls, prefix: str, url_prefix: str, params: dict[str, str]) -> tuple[dict, list[str]]:
    """The widget values for the URL's ``url_prefix + field`` parameters (see :func:`config_from_params`)."""
    config, notices = config_from_params(config_cls(), params, url_prefix)
    return control_values(config, prefix), notices


def url_params(config: Any, url_prefix: str) -> dict[str, str]:
    return {url_prefix + name: text for name, text in config.to_query_params().items()}

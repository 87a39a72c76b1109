"""The adapter's configuration: bad values name their key; secrets are not configuration."""

from __future__ import annotations

from typing import Any

import pytest

from kernel import ConfigError, convert_config
from plugins.deriv.config import LEGACY_URL, OPTIONS_WS_URL, DerivConfig


def _conf(**raw: Any) -> DerivConfig:
    return convert_config({"app_id": "1089", **raw}, DerivConfig, prefix="plugin.deriv")


@pytest.mark.parametrize(("raw", "key"), [
    ({"token": "abc"}, "plugin.deriv.token"),
    ({"granularity": 61}, "plugin.deriv"),
    ({"ping_interval_s": 61}, "plugin.deriv"),
    ({"ping_interval_s": 0}, "plugin.deriv"),
    ({"ticks": ["R_50", "R_50"]}, "plugin.deriv"),
    ({"transport": "fix"}, "plugin.deriv.transport"),
    ({"backfill": 5001}, "plugin.deriv"),
])
def test_bad_values_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        _conf(**raw)
    assert info.value.key == key


@pytest.mark.parametrize(("raw", "field"), [
    ({"granularity": 61}, "granularity"), ({"ping_interval_s": 61}, "ping_interval_s"),
    ({"ticks": ["R_50", "R_50"]}, "ticks"), ({"backfill": -1}, "backfill")])
def test_the_problem_names_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        _conf(**raw)


def test_the_legacy_transport_needs_an_app_id() -> None:
    with pytest.raises(ConfigError, match="app_id"):
        convert_config({}, DerivConfig, prefix="plugin.deriv")


def test_endpoints() -> None:
    assert _conf().endpoint == LEGACY_URL
    assert _conf(transport="options").endpoint == OPTIONS_WS_URL
    assert _conf(url="ws://127.0.0.1:1/x").endpoint == "ws://127.0.0.1:1/x"

"""Settings refuse placeholder secrets outside development."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from config.settings import PLACEHOLDER_SECRET, Settings


def test_development_accepts_embedded_defaults() -> None:
    settings = Settings(environment="development")
    assert settings.database_url.startswith("sqlite:///")
    assert settings.temporal_namespace == "default"


def test_production_refuses_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="INNOT_SECRET_KEY"):
        Settings(environment="production", secret_key=PLACEHOLDER_SECRET)


def test_production_refuses_placeholder_data_key() -> None:
    with pytest.raises(ValidationError, match="INNOT_DATA_KEYS"):
        Settings(environment="production", secret_key="s" * 48)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNOT_DATABASE_URL", "postgresql://app@db:5432/innot")
    monkeypatch.setenv("INNOT_FEES__EXPERT", "150.00")
    settings = Settings()
    assert settings.database_url == "postgresql://app@db:5432/innot"
    assert str(settings.fees.expert) == "150.00"


def test_exchange_rates_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.fx import DEFAULT_RATES

    rates = {code: str(value) for code, value in DEFAULT_RATES.per_base.items()} | {"USD": "1.25"}
    monkeypatch.setenv("INNOT_EXCHANGE_RATES", json.dumps({"as_of": "2026-11-25", "per_eur": rates}))
    table = Settings().exchange_rates.table()
    assert table.as_of == date(2026, 11, 25)
    assert table.rate("USD", "EUR") == Decimal("0.8")  # what matching compares and invoices state VAT in EUR at

    monkeypatch.setenv("INNOT_EXCHANGE_RATES", json.dumps({"as_of": "2026-11-25", "per_eur": {"EUR": "1"}}))
    with pytest.raises(ValidationError, match="no rate for AUD"):
        Settings()

"""Settings refuse placeholder secrets outside development."""

from __future__ import annotations

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

"""Runtime settings, read from the environment (prefix ``INNOT_``) or a ``.env`` file.

Everything has an embedded default so that ``make run`` works on a fresh machine; outside development a
placeholder secret is refused at start-up.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.fx import DEFAULT_RATES, RatesTable
from domain.money import CURRENCIES

PLACEHOLDER_SECRET = "change-me-dev-only-secret-0123456789abcdef"  # noqa: S105 - refused outside development
PLACEHOLDER_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2Q="  # base64 of 32 bytes, dev only

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


class FeeSchedule(BaseModel):
    """One version of the yearly registration fees; a member keeps the version of the term it signed."""

    version: str = "2026-01"
    currency: str = "EUR"
    client_organisation: Decimal = Decimal("480.00")
    expert: Decimal = Decimal("120.00")
    vat_rate: Decimal = Decimal("20.00")


class ExchangeRates(BaseModel):
    """Reference rates (1 EUR = x units of each currency) as of a date, e.g. the ECB's of the day, refreshed by ops
    (`INNOT_EXCHANGE_RATES='{"as_of": "2026-11-25", "per_eur": {"USD": "1.05", ...}}'`). Matching compares daily
    rates with them; an invoice in another currency states its VAT in EUR at them, with their date."""

    as_of: date = DEFAULT_RATES.as_of
    per_eur: dict[str, Decimal] = Field(default_factory=lambda: dict(DEFAULT_RATES.per_base))

    @model_validator(mode="after")
    def _complete(self) -> ExchangeRates:
        missing = sorted(set(CURRENCIES) - set(self.per_eur))
        if missing:
            raise ValueError(f"exchange_rates.per_eur: no rate for {', '.join(missing)}")
        self.table()  # EUR at 1, every rate positive
        return self

    def table(self) -> RatesTable:
        return RatesTable(base="EUR", as_of=self.as_of, per_base=self.per_eur)


class PlatformIdentity(BaseModel):
    """The platform as a legal person: seller of fee invoices, issuer of mission invoices under mandate."""

    legal_name: str = "innot SAS"
    legal_form: str = "SAS"
    siren: str = "732829320"
    vat_number: str = "FR44732829320"
    address_line: str = "10 rue de la Paix"
    postcode: str = "75002"
    city: str = "Paris"
    country: str = "FR"
    email: str = "billing@innot.example"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INNOT_", env_file=".env", extra="ignore", env_nested_delimiter="__")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{VAR / 'innot.db'}"
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    task_queue: str = "innot-missions"
    documents_task_queue: str = "innot-documents"
    document_store: str = f"file://{VAR / 'documents'}"
    keys_dir: Path = VAR / "keys"
    timestamp_url: str | None = Field(
        default=None,
        description="RFC 3161 timestamp authority (HTTP) of the platform seal; unset, the seal is timestamped with "
        "the development TSA key under keys_dir",
    )
    secret_key: str = PLACEHOLDER_SECRET
    data_keys: dict[str, str] = Field(default_factory=lambda: {"k1": PLACEHOLDER_DATA_KEY})
    active_data_key: str = "k1"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    login_attempts_per_minute: int = 10
    worker_metrics_address: str | None = Field(
        default=None, description="host:port where the worker serves Temporal SDK metrics (/metrics) for Prometheus"
    )
    workflow_sandbox: bool = Field(
        default=False,
        description="run the workflows in the Temporal sandbox on the workers. Off by default: the sandbox re-imports "
        "the workflow modules per run and proxies every module access, a fifth of the workers' CPU (bench.load); "
        "the test suite runs every workflow test and the replay gate in the sandbox, which is where a "
        "non-deterministic call is caught",
    )
    metrics_token: str | None = Field(
        default=None,
        description="when set, GET /metrics wants `Authorization: Bearer <token>` (Prometheus `authorization` scrape "
        "setting); unset, /metrics is open: keep it behind the proxy",
    )
    tracing: bool = Field(default=False, description="OpenTelemetry tracing interceptor on workers and clients")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    fees: FeeSchedule = FeeSchedule()
    exchange_rates: ExchangeRates = ExchangeRates()
    platform: PlatformIdentity = PlatformIdentity()

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32:
                raise ValueError("INNOT_SECRET_KEY must be set to a random value of at least 32 characters")
            if PLACEHOLDER_DATA_KEY in self.data_keys.values():
                raise ValueError("INNOT_DATA_KEYS must not contain the development placeholder key")
        if self.active_data_key not in self.data_keys:
            raise ValueError(f"INNOT_ACTIVE_DATA_KEY {self.active_data_key!r} is not one of INNOT_DATA_KEYS")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""Runtime settings, read from the environment (prefix ``INNOT_``) or a ``.env`` file.

Everything has an embedded default so that ``make run`` works on a fresh machine; outside development a
placeholder secret is refused at start-up.
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.doctor import production_problems
from domain.fx import DEFAULT_RATES, RatesTable
from domain.membership import FeeSchedule
from domain.money import CURRENCIES

PLACEHOLDER_SECRET = "change-me-dev-only-secret-0123456789abcdef"  # noqa: S105 - refused outside development
PLACEHOLDER_DATA_KEY = "ZGV2LW9ubHktZGF0YS1rZXktMDEyMzQ1Njc4OWFiY2Q="  # base64 of 32 bytes, dev only

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


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


class LoginThrottle(BaseModel):
    """How many failed logins are let through before a wait, per client address (across accounts), per account
    (from devices it does not know) and per known device; the wait then doubles with each further failure, from
    `first_wait_seconds` up to `max_wait_seconds`. Counts are forgotten after `forget_after_seconds` without a
    failure. At these defaults an account sees at most about a dozen guesses an hour (ASVS V2.2.1 asks for no more
    than 100)."""

    client_failures: int = Field(default=10, ge=1)
    account_failures: int = Field(default=5, ge=1)
    device_failures: int = Field(default=5, ge=1)
    first_wait_seconds: int = Field(default=30, ge=1)
    max_wait_seconds: int = Field(default=900, ge=1)
    forget_after_seconds: int = Field(default=3600, ge=60)
    device_days: int = Field(default=180, ge=1, description="lifetime of the device cookie set at a successful login")

    @model_validator(mode="after")
    def _waits_end_before_counts_are_forgotten(self) -> LoginThrottle:
        if self.forget_after_seconds < self.max_wait_seconds:
            raise ValueError("login_throttle: forget_after_seconds must be at least max_wait_seconds")
        return self


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


def _secrets_dir() -> Path | None:
    found = Path(os.environ.get("INNOT_SECRETS_DIR", "/run/secrets"))
    return found if found.is_dir() else None


class Settings(BaseSettings):
    # Secrets may also come from files, one per setting, named as the variable in lower case (Docker/Compose
    # secrets mounted under /run/secrets, e.g. /run/secrets/innot_secret_key): INNOT_SECRETS_DIR moves it.
    model_config = SettingsConfigDict(
        env_prefix="INNOT_",
        env_file=".env",
        extra="ignore",
        env_nested_delimiter="__",
        secrets_dir=_secrets_dir(),
    )

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{VAR / 'innot.db'}"
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    # how long the Temporal server keeps a closed workflow's history (namespace retention) before deleting it: the
    # histories hold no personal data in clear (codec), the legal records live in SQL; `innot dev` sets it on its
    # embedded server, deploy/compose.yaml on the cluster's namespace
    temporal_retention_days: int = Field(default=30, ge=1, le=3650)
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_ca: Path | None = None
    task_queue: str = "innot-missions"
    documents_task_queue: str = "innot-documents"
    document_store: str = f"file://{VAR / 'documents'}"
    keys_dir: Path = VAR / "keys"
    secret_key: str = PLACEHOLDER_SECRET
    data_keys: dict[str, str] = Field(default_factory=lambda: {"k1": PLACEHOLDER_DATA_KEY})
    active_data_key: str = "k1"
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    login_throttle: LoginThrottle = LoginThrottle()
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="addresses of the reverse proxies whose X-Forwarded-For/-Proto `innot api` trusts (uvicorn's "
        "--forwarded-allow-ips; comma-separated, '*' for any): the client address the login limits count comes from "
        "there. Unset: uvicorn's default (its FORWARDED_ALLOW_IPS variable, else 127.0.0.1 only)",
    )
    worker_metrics_address: str | None = Field(
        default=None, description="host:port where the worker serves Temporal SDK metrics (/metrics) for Prometheus"
    )
    workflow_sandbox: bool = Field(
        default=True,
        description="run the workflows in the Temporal sandbox on the workers (where a non-deterministic call is "
        "refused at once), as the test suite and the replay gate do",
    )
    metrics_token: str | None = Field(
        default=None,
        description="when set, GET /metrics wants `Authorization: Bearer <token>` (Prometheus `authorization` scrape "
        "setting); unset, /metrics is open: keep it behind the proxy",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where people reach the portal: the base of every link in an e-mail",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://…:465 (TLS). "
        "Unset in development: `innot dev` starts a local catcher writing to var/mailbox, shown at /dev/mailbox",
    )
    dev_mailbox: Path = Field(
        default=VAR / "mailbox",
        description="the Maildir the development mail catcher writes to; shown at /dev/mailbox in development only",
    )
    mail_from: str = Field(default="innot <no-reply@innot.example>", description="From: of every e-mail")
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamping authority for the platform seal (production); unset in development, the "
        "seal is time-stamped with a local development key",
    )
    tracing: bool = Field(default=False, description="OpenTelemetry tracing interceptor on workers and clients")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    fees: FeeSchedule = FeeSchedule()
    exchange_rates: ExchangeRates = ExchangeRates()
    platform: PlatformIdentity = PlatformIdentity()

    @model_validator(mode="after")
    def _refuse_development_defaults(self) -> Settings:
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                listed = "\n".join(f"  - {p}" for p in problems)
                raise ValueError(f"refusing to start in production; set:\n{listed}\n(`innot doctor` shows every check)")
        if self.active_data_key not in self.data_keys:
            raise ValueError(f"INNOT_ACTIVE_DATA_KEY {self.active_data_key!r} is not one of INNOT_DATA_KEYS")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

"""The structured need a client posts: what matching ranks against and what the mission carries.

The rules here hold for every need at any time (the workflow validates its input again on each replay): no blank
text, ISO language and country codes. Rules that depend on the day (the start date) or on the taxonomy's current
version are checked where a need comes in (`api.schemas.missions.NeedSubmission`), not here: a running mission's
need must stay valid after the day passes or the taxonomy changes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from domain import identifiers
from domain.money import Currency

Language = Literal["fr", "en"]
LanguageCode = Annotated[str, AfterValidator(identifiers.language)]
CountryCode = Annotated[str, AfterValidator(identifiers.country)]
# a skill or business function as typed (a key, a label or a synonym): surrounding spaces dropped, never blank
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]

# How far ahead a mission may start: a need further out is a typo (9999) or not a need yet.
START_HORIZON = timedelta(days=730)
# Time zones run from UTC-12 to UTC+14: a client's "today" may be the day before or after the UTC date.
_ZONE_SLACK = timedelta(days=1)


class Need(BaseModel):
    # stripped before the length checks: a title of spaces is no title
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=20_000)]
    business_function: Term = Field(max_length=64, description="taxonomy key, e.g. 'finance'")
    skills: list[Term] = Field(min_length=1, max_length=30, description="taxonomy skill keys")
    languages: list[LanguageCode] = Field(min_length=1, max_length=6, description="ISO 639-1 codes; all required")
    countries: list[CountryCode] = Field(default_factory=list, max_length=30, description="ISO 3166 alpha-2 codes")
    remote: bool = True
    budget_min: Decimal = Field(ge=0, max_digits=14, decimal_places=2, description="daily rate, low end")
    budget_max: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="daily rate, high end")
    currency: Currency = "EUR"
    start_date: date
    duration_days: int = Field(ge=1, le=730)
    confidential: bool = True
    mission_language: Language = "en"

    @model_validator(mode="after")
    def _budget_range(self) -> Need:
        if self.budget_min > self.budget_max:
            raise ValueError("budget_min must not exceed budget_max")
        if not self.remote and not self.countries:
            raise ValueError("countries: give at least one country when the mission is not remote")
        return self


def start_date_problem(start: date, today: date) -> str | None:
    """Why a new need may not start on ``start`` when the (UTC) date is ``today``; None if it may."""
    earliest, latest = today - _ZONE_SLACK, today + START_HORIZON
    if start < earliest:
        return f"{start.isoformat()} is in the past: a new mission starts on {earliest.isoformat()} or later"
    if start > latest:
        return f"{start.isoformat()} is too far ahead: a new mission starts on {latest.isoformat()} at the latest"
    return None

"""The structured need a client posts: what matching ranks against and what the mission carries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from domain.money import Currency

Language = Literal["fr", "en"]


class Need(BaseModel):
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(min_length=20, max_length=20_000)
    business_function: str = Field(min_length=2, max_length=64, description="taxonomy key, e.g. 'finance'")
    skills: list[str] = Field(min_length=1, max_length=30, description="taxonomy skill keys")
    languages: list[str] = Field(min_length=1, max_length=6, description="ISO 639-1 codes; all required")
    countries: list[str] = Field(default_factory=list, max_length=30, description="ISO 3166 alpha-2 codes")
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

"""Inputs and answers of the account security routes: links, password reset, sessions, second factor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, EmailStr, Field, SecretStr

from domain import identifiers


def _strong(value: SecretStr) -> SecretStr:
    identifiers.password_strength(value.get_secret_value())
    return value


Password = Annotated[SecretStr, AfterValidator(_strong)]


class Done(BaseModel):
    detail: str


class LinkToken(BaseModel):
    token: str = Field(min_length=20, max_length=200, description="the `token` parameter of the e-mailed link")


class ForgotPassword(BaseModel):
    email: EmailStr


class NewPassword(BaseModel):
    token: str = Field(min_length=20, max_length=200, description="the `token` parameter of the e-mailed link")
    password: Password


class SessionRead(BaseModel):
    id: UUID
    created_at: datetime
    expires_at: datetime
    current: bool = Field(description="the session this request is made with")


class TotpSetup(BaseModel):
    secret: str = Field(description="base32 secret, for apps that cannot scan the QR code")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as an SVG QR code")


class TotpCode(BaseModel):
    code: SecretStr = Field(description="the 6-digit code the authenticator app shows now")


class RecoveryCodes(BaseModel):
    codes: list[str] = Field(description="shown once: each one replaces the authenticator for one login")


class TotpStatus(BaseModel):
    enabled: bool
    recovery_codes_left: int

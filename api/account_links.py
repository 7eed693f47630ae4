"""The tokens of e-mailed links (verification, password reset): random, signed for their purpose, stored hashed.

A token is `<random>.<signature>`: the HMAC over the purpose binds it to one use (a verification link cannot reset
a password) and lets a forged token be refused without touching the database; the random part makes it
unguessable; only its SHA-256 is stored, with its expiry and the time it was used (single use).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from api.security import hash_token
from config.settings import Settings

VERIFY_EMAIL_TTL = timedelta(days=2)
RESET_PASSWORD_TTL = timedelta(hours=1)


def _signature(settings: Settings, purpose: str, nonce: str) -> str:
    digest = hmac.new(settings.secret_key.encode(), f"{purpose}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def new_link_token(settings: Settings, purpose: str) -> tuple[str, str]:
    """A fresh token for a link, and the hash to store."""
    nonce = secrets.token_urlsafe(32)
    token = f"{nonce}.{_signature(settings, purpose, nonce)}"
    return token, hash_token(token)


def signed_hash(settings: Settings, purpose: str, token: str) -> str | None:
    """The hash to look up, if the token carries a valid signature for this purpose; None otherwise."""
    nonce, _, signature = token.partition(".")
    if not nonce or not hmac.compare_digest(signature, _signature(settings, purpose, nonce)):
        return None
    return hash_token(token)

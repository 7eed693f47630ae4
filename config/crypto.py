"""AES-256-GCM with key ids, for data at rest (messages, personal fields) and Temporal payloads.

A ciphertext carries the id of the key that sealed it, so keys can rotate: add a new key to INNOT_DATA_KEYS,
make it active, and old data stays readable with the old key until it is re-encrypted.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.settings import Settings

NONCE_BYTES = 12


class UnknownKey(Exception):
    pass


class DataCipher:
    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"data key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
        if active not in keys:
            raise ValueError(f"active data key {active!r} is not configured")
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active = active

    @classmethod
    def from_settings(cls, settings: Settings) -> DataCipher:
        keys = {key_id: base64.b64decode(value) for key_id, value in settings.data_keys.items()}
        return cls(keys, settings.active_data_key)

    def encrypt(self, plaintext: bytes, *, associated: bytes = b"") -> tuple[str, bytes]:
        """Return (key id, nonce + ciphertext)."""
        nonce = os.urandom(NONCE_BYTES)
        return self.active, nonce + self._aead[self.active].encrypt(nonce, plaintext, associated or None)

    def decrypt(self, key_id: str, sealed: bytes, *, associated: bytes = b"") -> bytes:
        aead = self._aead.get(key_id)
        if aead is None:
            raise UnknownKey(f"data key {key_id!r} is not configured: it is needed to read this value")
        return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated or None)

    def seal_text(self, text: str, *, associated: str = "") -> str:
        """Compact text form for SQL columns: '<key id>:<base64(nonce + ciphertext)>'."""
        key_id, sealed = self.encrypt(text.encode(), associated=associated.encode())
        return f"{key_id}:{base64.b64encode(sealed).decode()}"

    def open_text(self, value: str, *, associated: str = "") -> str:
        key_id, _, body = value.partition(":")
        return self.decrypt(key_id, base64.b64decode(body), associated=associated.encode()).decode()

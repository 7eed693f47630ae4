"""Temporal payload codec: every payload leaves the process AES-GCM encrypted, with its key id in the header,
so the Temporal history holds no personal data in clear. The codec server (`/codec` on the API, ops only) lets
the Temporal Web UI decode payloads for staff."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from config.crypto import DataCipher

ENCODING = b"binary/encrypted"


class EncryptionCodec(PayloadCodec):
    def __init__(self, cipher: DataCipher) -> None:
        self.cipher = cipher

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for payload in payloads:
            key_id, sealed = self.cipher.encrypt(payload.SerializeToString())
            encoded.append(Payload(metadata={"encoding": ENCODING, "encryption-key-id": key_id.encode()}, data=sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                decoded.append(payload)  # written before encryption was on: readable as is
                continue
            key_id = payload.metadata["encryption-key-id"].decode()
            inner = Payload()
            inner.ParseFromString(self.cipher.decrypt(key_id, payload.data))
            decoded.append(inner)
        return decoded

"""Temporal payload codec: every payload leaves the process AES-GCM encrypted, with its key id in the header,
so the Temporal history holds no personal data in clear. The codec server (`/codec` on the API, ops only) lets
the Temporal Web UI decode payloads for staff.

A payload of COMPRESS_FROM bytes or more is zlib-compressed before it is sealed (header `compression: zlib`):
a mission's state is mostly repeated JSON keys and UUIDs and shrinks to about a third (the update answers and
activity inputs of a recorded mission: 72 KB, 24 KB compressed), and the server's time per update grows
with the bytes it stores and sends (measured on the dev server: an Update answering 33 KB of repetitive text took
6 ms more than one answering nothing; compressed, 1 to 2 ms). Payloads sealed before this carry no such header
and decode as they are. What the compressed length could tell is only visible to those who read the Temporal
history, who are staff."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from config.crypto import DataCipher

ENCODING = b"binary/encrypted"
COMPRESSION = b"zlib"
COMPRESS_FROM = 256  # bytes


class EncryptionCodec(PayloadCodec):
    def __init__(self, cipher: DataCipher) -> None:
        self.cipher = cipher

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        encoded = []
        for payload in payloads:
            plain = payload.SerializeToString()
            metadata = {"encoding": ENCODING}
            if len(plain) >= COMPRESS_FROM:
                packed = zlib.compress(plain, 1)
                if len(packed) < len(plain):
                    plain, metadata["compression"] = packed, COMPRESSION
            key_id, sealed = self.cipher.encrypt(plain)
            metadata["encryption-key-id"] = key_id.encode()
            encoded.append(Payload(metadata=metadata, data=sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                decoded.append(payload)  # written before encryption was on: readable as is
                continue
            key_id = payload.metadata["encryption-key-id"].decode()
            plain = self.cipher.decrypt(key_id, payload.data)
            if payload.metadata.get("compression") == COMPRESSION:
                plain = zlib.decompress(plain)
            inner = Payload()
            inner.ParseFromString(plain)
            decoded.append(inner)
        return decoded

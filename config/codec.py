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

from cryptography.exceptions import InvalidTag
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from config.crypto import NONCE_BYTES, DataCipher, UnknownKey

ENCODING = b"binary/encrypted"
COMPRESSION = b"zlib"
COMPRESS_FROM = 256  # bytes
# Temporal refuses a payload over 2 MB (its blob size limit): a sealed one that inflates past this was not ours,
# and inflating it without a bound would let a forged payload take the process's memory.
MAX_PLAIN_BYTES = 4 * 1024 * 1024
MAX_KEY_ID = 64


class UnreadablePayload(ValueError):
    """A payload that says it is ours but cannot be opened: forged, truncated, or sealed with a key not configured
    here. The message says which payload and why, for the one who sent it (the codec server answers it as a 4xx)."""


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
        for index, payload in enumerate(payloads):
            if payload.metadata.get("encoding", b"") != ENCODING:
                decoded.append(payload)  # written before encryption was on: readable as is
                continue
            try:
                decoded.append(self._open(payload))
            except UnreadablePayload as exc:
                raise UnreadablePayload(f"payloads[{index}]: {exc}") from exc
        return decoded

    def _open(self, payload: Payload) -> Payload:
        raw_key_id = payload.metadata.get("encryption-key-id", b"")
        compression = payload.metadata.get("compression", b"")
        if not raw_key_id:
            raise UnreadablePayload("encrypted, but its metadata names no encryption-key-id")
        try:
            key_id = raw_key_id.decode("ascii")
        except UnicodeDecodeError as exc:
            raise UnreadablePayload("its encryption-key-id is not an ASCII key id") from exc
        if len(key_id) > MAX_KEY_ID:
            raise UnreadablePayload(f"its encryption-key-id is longer than {MAX_KEY_ID} characters")
        if compression not in (b"", COMPRESSION):
            raise UnreadablePayload(f"unknown compression {compression[:32]!r}: only zlib is used")
        if len(payload.data) < NONCE_BYTES + 16:  # nonce and GCM tag: anything shorter was truncated
            raise UnreadablePayload(f"data of {len(payload.data)} bytes is too short to be a sealed payload")
        try:
            plain = self.cipher.decrypt(key_id, payload.data)
        except UnknownKey as exc:
            raise UnreadablePayload(str(exc)) from exc
        except InvalidTag as exc:
            raise UnreadablePayload(f"does not open with data key {key_id!r}: altered, or not sealed by it") from exc
        if compression == COMPRESSION:
            plain = _inflate(plain)
        inner = Payload()
        try:
            inner.ParseFromString(plain)
        except DecodeError as exc:
            raise UnreadablePayload("opens, but is not a Temporal payload inside") from exc
        return inner


def _inflate(packed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(packed, MAX_PLAIN_BYTES)
    except zlib.error as exc:
        raise UnreadablePayload(f"marked zlib-compressed, but does not inflate ({exc})") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise UnreadablePayload(f"inflates past {MAX_PLAIN_BYTES} bytes, or is cut short")
    return plain

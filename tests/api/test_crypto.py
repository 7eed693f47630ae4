"""Encryption at rest and of Temporal payloads: round trips, key rotation, tampering, unknown keys."""

from __future__ import annotations

import asyncio
import os
import zlib
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DataConverter

from config.codec import EncryptionCodec, UnreadablePayload
from config.crypto import DataCipher, UnknownKey
from config.settings import Settings
from config.temporal import data_converter

SECRET = "Le prix convenu est de 12 345,67 EUR — confidentiel"


def test_seal_and_open_text_with_rotation() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = DataCipher({"k1": old}, "k1")
    sealed = before.seal_text(SECRET, associated="mission:1")
    assert SECRET not in sealed and sealed.startswith("k1:")
    after = DataCipher({"k1": old, "k2": new}, "k2")
    assert after.open_text(sealed, associated="mission:1") == SECRET
    assert after.seal_text(SECRET).startswith("k2:")
    with pytest.raises(UnknownKey, match="k1"):
        DataCipher({"k2": new}, "k2").open_text(sealed, associated="mission:1")


def test_tampering_and_wrong_context_are_detected() -> None:
    cipher = DataCipher({"k1": os.urandom(32)}, "k1")
    key_id, sealed = cipher.encrypt(SECRET.encode(), associated=b"mission:1")
    flipped = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):
        cipher.decrypt(key_id, flipped, associated=b"mission:1")
    with pytest.raises(InvalidTag):
        cipher.decrypt(key_id, sealed, associated=b"mission:2")


def test_keys_must_be_aes256() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DataCipher({"k1": b"short"}, "k1")


async def test_payload_codec_hides_values_and_round_trips() -> None:
    converter: DataConverter = data_converter(Settings(environment="test"))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    payloads = await converter.encode([{"message": SECRET, "email": "claire@acme.example"}])
    raw = b"".join(p.SerializeToString() for p in payloads)
    assert SECRET.encode() not in raw and b"claire@acme.example" not in raw
    assert payloads[0].metadata["encryption-key-id"] == b"k1"
    assert await converter.decode(payloads, [dict]) == [{"message": SECRET, "email": "claire@acme.example"}]


async def test_payload_codec_compresses_large_payloads_and_reads_older_ones() -> None:
    cipher = DataCipher({"k1": os.urandom(32)}, "k1")
    codec = EncryptionCodec(cipher)
    converter = DataConverter.default
    shortlist = {
        "candidates": [{"name": f"Expert {n}", "why": "finance, modelling, French, available"} for n in range(60)]
    }
    big, small = await converter.encode([shortlist, {"n": 1}])
    sealed_big, sealed_small = await codec.encode([big, small])
    # a mission state is mostly repeated keys: compressed before it is sealed, it is a fraction of its size
    assert sealed_big.metadata["compression"] == b"zlib"
    assert len(sealed_big.data) < len(big.SerializeToString()) / 4
    assert "compression" not in sealed_small.metadata  # too small to gain anything
    assert b"Expert 1" not in sealed_big.data
    # a payload sealed before compression existed (no header) still decodes: histories recorded then replay
    key_id, plain_sealed = cipher.encrypt(big.SerializeToString())
    older = type(big)(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": key_id.encode()}, data=plain_sealed
    )
    for decoded in await codec.decode([sealed_big, older]):
        assert (await converter.decode([decoded], [dict])) == [shortlist]
    assert await converter.decode(await codec.decode([sealed_small]), [dict]) == [{"n": 1}]


async def test_codec_server_decodes_for_ops_only(api: Any, session_factory: Any) -> None:
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads

    from api.security import hash_password
    from store.accounts import create_user
    from store.db import transaction
    from tests.api.conftest import PASSWORD, bearer, client_registration, login, unique_email, with_second_factor

    converter = data_converter(Settings(environment="test"))
    encoded = await converter.encode([{"message": SECRET}])
    body = json_format.MessageToJson(Payloads(payloads=encoded))
    ops_email, client_email = unique_email("ops"), unique_email("client")
    with transaction(session_factory) as session:
        create_user(session, email=ops_email, full_name="Ops", password_hash=await hash_password(PASSWORD), role="ops")
    await api.post("/auth/register/client", json=client_registration(client_email))

    as_client = await api.post("/codec/decode", content=body, headers=bearer(await login(api, client_email)))
    assert as_client.status_code == 403
    assert (await api.post("/codec/decode", content=body)).status_code == 401
    ops = await with_second_factor(api, bearer(await login(api, ops_email)))
    as_ops = await api.post("/codec/decode", content=body, headers=ops)
    assert as_ops.status_code == 200
    decoded = json_format.ParseDict(as_ops.json(), Payloads())
    assert await converter.decode(decoded.payloads, [dict]) == [{"message": SECRET}]


def _sealed(cipher: DataCipher, plain: bytes, **metadata: bytes) -> Payload:
    key_id, sealed = cipher.encrypt(plain)
    return Payload(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": key_id.encode()} | metadata, data=sealed
    )


async def test_codec_server_answers_forged_payloads_with_a_4xx_and_its_reason(
    api: Any, app: Any, session_factory: Any
) -> None:
    from api.security import hash_password
    from store.accounts import create_user
    from store.db import transaction
    from tests.api.conftest import PASSWORD, bearer, login, unique_email, with_second_factor

    ops_email = unique_email("ops")
    with transaction(session_factory) as session:
        create_user(session, email=ops_email, full_name="Ops", password_hash=await hash_password(PASSWORD), role="ops")
    as_ops = await with_second_factor(api, bearer(await login(api, ops_email)))
    ours: DataCipher = app.state.cipher
    genuine = (await EncryptionCodec(ours).encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"hi"')]))[0]
    stranger = DataCipher({"k9": os.urandom(32)}, "k9")
    flipped = bytearray(genuine.data)
    flipped[-1] ^= 1

    def body(*payloads: Payload) -> bytes:
        return json_format.MessageToJson(Payloads(payloads=list(payloads))).encode()

    forged = {
        "unknown key id": (body(_sealed(stranger, b"x" * 40)), "'k9' is not configured"),
        "no key id": (body(Payload(metadata={"encoding": b"binary/encrypted"}, data=genuine.data)), "no encryption"),
        "key id not text": (
            body(Payload(metadata=dict(genuine.metadata) | {"encryption-key-id": b"\xff\xfe"}, data=genuine.data)),
            "not an ASCII key id",
        ),
        "truncated ciphertext": (body(Payload(metadata=dict(genuine.metadata), data=genuine.data[:9])), "too short"),
        "wrong tag": (body(Payload(metadata=dict(genuine.metadata), data=bytes(flipped))), "altered"),
        "unknown compression": (body(_sealed(ours, b"x" * 40, compression=b"gzip")), "unknown compression"),
        "compressed, it says": (body(_sealed(ours, b"x" * 40, compression=b"zlib")), "does not inflate"),
        "a zlib bomb": (body(_sealed(ours, zlib.compress(bytes(16 * 1024 * 1024)), compression=b"zlib")), "past"),
        "not a payload inside": (body(_sealed(ours, b"\xff\xff\xff\xff")), "not a Temporal payload"),
        "one forged among genuine ones": (body(genuine, _sealed(stranger, b"x" * 40)), "payloads[1]"),
        "not base64": (
            b'{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "azE="}, '
            b'"data": "%%%"}]}',
            "too short",
        ),
        "not UTF-8": (b'{"payloads": [\xff]}', "body: not a Temporal Payloads"),
        "not JSON": (b"payloads", "body: not a Temporal Payloads"),
    }
    for case, (content, reason) in forged.items():
        answer = await api.post("/codec/decode", content=content, headers=as_ops | {"Content-Type": "application/json"})
        assert answer.status_code == 422, (case, answer.status_code, answer.text[:200])
        assert reason in answer.json()["detail"], (case, answer.json())
    still = await api.post("/codec/decode", content=body(genuine), headers=as_ops)
    assert still.status_code == 200


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    metadata=st.dictionaries(
        st.sampled_from(["encoding", "encryption-key-id", "compression"]),
        st.one_of(st.sampled_from([b"binary/encrypted", b"k1", b"zlib", b"gzip", b""]), st.binary(max_size=80)),
    ),
    data=st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"\x00" * 12, bytes(28)])),
    flip=st.integers(min_value=0, max_value=400),
)
def test_payload_codec_opens_a_payload_or_says_why_never_anything_else(
    metadata: dict[str, bytes], data: bytes, flip: int
) -> None:
    cipher = DataCipher({"k1": _FUZZ_KEY}, "k1")
    codec = EncryptionCodec(cipher)
    genuine = asyncio.run(codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"x" * 300)]))[0]
    tampered = bytearray(genuine.data)
    tampered[flip % len(tampered)] ^= 1 + flip % 255
    for payload in (
        Payload(metadata=metadata, data=data),
        Payload(metadata=dict(genuine.metadata) | metadata, data=data),
        Payload(metadata=dict(genuine.metadata), data=bytes(tampered)),
    ):
        try:
            asyncio.run(codec.decode([payload]))
        except UnreadablePayload as exc:
            assert str(exc).startswith("payloads[0]: ")


_FUZZ_KEY = os.urandom(32)

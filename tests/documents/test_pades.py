"""The DER that `documents.pades` assembles by hand is what asn1crypto (pyHanko's encoder) reads and writes back
unchanged: canonical DER, every field where CMS and RFC 3161 put it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from asn1crypto import cms, tsp  # type: ignore[import-untyped]

from documents import pades
from documents.signing import SEAL_NAME, TSA_NAME, DevPki, _load_material


def test_containers_are_canonical_der_with_the_pades_attributes(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "keys")
    seal = _load_material(*pki.ensure(SEAL_NAME, "seal"), pki.ca_cert_path).cms
    tsa = pades.TimestampAuthority(
        _load_material(*pki.ensure(TSA_NAME, "tsa", timestamping=True), pki.ca_cert_path).cms
    )
    digest = hashlib.sha256(b"document").digest()
    der = pades.container(seal, digest, tsa)

    # re-encoded from the parsed values, each part is the same DER (asn1crypto re-encodes a whole token with its
    # parsed TSTInfo in exponential time: its parts one by one)
    plain = pades.container(seal, digest, None)
    assert cms.ContentInfo.load(plain).dump(force=True) == plain
    info = cms.ContentInfo.load(der)
    signed = info["content"]
    assert len(signed["certificates"]) == 2  # the signer's and the CA's
    signer_info = signed["signer_infos"][0]
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    assert set(attrs) == {"content_type", "message_digest", "signing_certificate_v2"}
    assert attrs["message_digest"].native == digest
    assert signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"

    token = signer_info["unsigned_attrs"][0]["values"][0]
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    assert isinstance(tst_info, tsp.TSTInfo)
    assert tsp.TSTInfo.load(tst_info.dump()).dump(force=True) == tst_info.dump()
    token_signer = token["content"]["signer_infos"][0].dump()
    assert cms.SignerInfo.load(token_signer).dump(force=True) == token_signer
    imprint = tst_info["message_imprint"]["hashed_message"].native
    assert imprint == hashlib.sha256(signer_info["signature"].native).digest()
    assert token["content"]["version"].native == "v3"


def test_dry_run_containers_are_at_least_as_long_as_real_ones(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "keys")
    seal = _load_material(*pki.ensure(SEAL_NAME, "seal"), pki.ca_cert_path).cms
    dry = len(pades.container(seal, bytes(32), None, dry_run=True))
    assert all(len(pades.container(seal, bytes([n]) * 32, None)) <= dry for n in range(20))


def test_pdf_text_strings() -> None:
    assert pades.pdf_text("client (consent) \\") == b"(client \\(consent\\) \\\\)"
    assert pades.pdf_text("é") == b"<FEFF00E9>"

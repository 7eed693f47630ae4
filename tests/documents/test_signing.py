"""One `PdfSigner` per process keeps keys, certificates and the size of each signer's signature container: every
signature it makes still verifies, and a certificate replaced on disk is used from the next signature on."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

from documents.rendering import Renderer
from documents.signing import SEAL_NAME, DevPki, PdfSigner, verify_document


def _signer_serials(pdf: bytes) -> list[int]:
    return [sig.signer_cert.serial_number for sig in PdfFileReader(BytesIO(pdf)).embedded_signatures]


def test_cached_signers_sign_verifiable_documents_and_follow_a_replaced_certificate(
    renderer: Renderer, tmp_path: Path
) -> None:
    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = renderer.pdf_from_html("<html><head><title>t</title></head><body><p>Agreed.</p></body></html>")

    signed = []
    for _ in range(3):  # the first signature estimates the container size, the next ones reuse it
        once = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
        twice = signer.sign(once, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal",
                            reason="seal", timestamp=True)  # fmt: skip
        signed.append(twice)
    for document in signed:
        report = verify_document(document, trust_root=pki.ca_cert_path)
        assert report.ok and len(report.signatures) == 2, report.summary()
        assert all(s.timestamped == (s.field_name == "PlatformSeal") for s in report.signatures)
    first_serial = _signer_serials(signed[0])[0]
    assert {_signer_serials(d)[0] for d in signed} == {first_serial}

    key_path, cert_path = pki.ensure("user-a", "Ann")
    key_path.unlink()
    cert_path.unlink()  # the certificate is replaced (renewed) while the process runs
    renewed = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
    report = verify_document(renewed, trust_root=pki.ca_cert_path)
    assert report.ok, report.summary()
    assert _signer_serials(renewed)[0] != first_serial


def test_a_signature_container_larger_than_the_kept_estimate_is_estimated_again(
    renderer: Renderer, tmp_path: Path
) -> None:
    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = renderer.pdf_from_html("<html><head><title>t</title></head><body><p>Agreed.</p></body></html>")
    signer.sign(pdf, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="s", timestamp=True)
    signer._reserved[(SEAL_NAME, True)] = 512  # as if the timestamp authority's chain had grown since
    sealed = signer.sign(pdf, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="s",
                         timestamp=True)  # fmt: skip
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert report.ok and report.signatures[0].timestamped, report.summary()
    assert signer._reserved[(SEAL_NAME, True)] > 512

"""One `PdfSigner` per process keeps keys, certificates and the size of each signer's signature container: every
signature it makes still verifies, and a certificate replaced on disk is used from the next signature on."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from documents.rendering import Renderer
from documents.signing import CA_NAME, SEAL_NAME, DevPki, PdfSigner, verify_document


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


def _pki_of_rsa_keys(keys: Path) -> DevPki:
    """A keys folder as production (or an older development install) fills it: RSA keys, same file names."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    keys.mkdir(parents=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Production CA")])

    def write(name: str, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
        (keys / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        (keys / f"{name}.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def builder(subject: x509.Name, key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
        )  # fmt: skip

    ca = (
        builder(ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    )
    write("platform-ca", ca_key, ca.sign(ca_key, hashes.SHA256()))
    for name, usage in (("user-a", ExtendedKeyUsageOID.EMAIL_PROTECTION), ("platform-seal", None),
                        ("platform-tsa", ExtendedKeyUsageOID.TIME_STAMPING)):  # fmt: skip
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key).add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        )
        if usage is not None:
            cert = cert.add_extension(
                x509.ExtendedKeyUsage([usage]), critical=usage == ExtendedKeyUsageOID.TIME_STAMPING
            )
        write(name, key, cert.sign(ca_key, hashes.SHA256()))
    return DevPki(keys)


def test_rsa_keys_of_a_production_keys_folder_sign_and_verify(renderer: Renderer, tmp_path: Path) -> None:
    """Development keys are ECDSA; the signing path takes whatever keys the keys folder holds."""
    pki = _pki_of_rsa_keys(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = renderer.pdf_from_html("<html><head><title>t</title></head><body><p>Agreed.</p></body></html>")
    once = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
    sealed = signer.sign(once, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="seal",
                         timestamp=True)  # fmt: skip
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert report.ok and len(report.signatures) == 2, report.summary()
    assert [s.timestamped for s in report.signatures] == [False, True]
    assert signer.fallbacks == 0


def _classic_pdf(version: bytes = b"1.7") -> bytes:
    """A one-page PDF with a cross-reference table (not a stream) and its objects outside object streams."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << >> >>",
        b"<< /Length 11 >>\nstream\n0 0 m 9 9 l\nendstream",
    ]
    out = bytearray(b"%PDF-" + version + b"\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_a_pdf_with_a_cross_reference_table_is_signed_in_turn_by_each_party(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = signer.sign(_classic_pdf(), signer_name="user-a", common_name="Ann", field_name="ClientSignature",
                      reason="client (consent) \\ é")  # fmt: skip
    pdf = signer.sign(pdf, signer_name="user-b", common_name="Bob", field_name="ExpertSignature", reason="expert")
    pdf = signer.sign(pdf, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="seal",
                      timestamp=True)  # fmt: skip
    report = verify_document(pdf, trust_root=pki.ca_cert_path)
    assert report.ok and [s.field_name for s in report.signatures] == [
        "ClientSignature", "ExpertSignature", "PlatformSeal"
    ], report.summary()  # fmt: skip
    assert all(s.covers_whole_document for s in report.signatures)
    reader = PdfFileReader(BytesIO(pdf), strict=True)  # well-formed enough for the strict reader
    assert [s.sig_object["/Reason"] for s in reader.embedded_signatures] == [
        "client (consent) \\ é", "expert", "seal"
    ]  # fmt: skip
    assert signer.fallbacks == 0


def test_a_pdf_structure_the_fast_path_does_not_update_is_signed_by_pyhanko(renderer: Renderer, tmp_path: Path) -> None:
    """An existing empty field of that name: pyHanko fills it (with the same container)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    writer = IncrementalPdfFileWriter(BytesIO(_classic_pdf()))
    fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name="ClientSignature"))
    prepared = BytesIO()
    writer.write(prepared)
    pdf = signer.sign(prepared.getvalue(), signer_name="user-a", common_name="Ann", field_name="ClientSignature",
                      reason="ok")  # fmt: skip
    assert signer.fallbacks == 1
    pdf = signer.sign(pdf, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="seal",
                      timestamp=True)  # fmt: skip
    assert signer.fallbacks == 1  # the document pyHanko wrote is read again by the fast path
    report = verify_document(pdf, trust_root=pki.ca_cert_path)
    assert report.ok and [s.field_name for s in report.signatures] == ["ClientSignature", "PlatformSeal"], (
        report.summary()
    )
    assert report.signatures[1].timestamped


def test_a_pdf_older_than_cross_reference_streams_is_signed_by_pyhanko(tmp_path: Path) -> None:
    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = signer.sign(_classic_pdf(b"1.4"), signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal",
                      reason="seal", timestamp=True)  # fmt: skip
    assert signer.fallbacks == 1
    report = verify_document(pdf, trust_root=pki.ca_cert_path)
    assert report.ok and report.signatures[0].timestamped, report.summary()


def _issue_in_a_process(keys: str, name: str, start: Any) -> bytes:
    """What a process starting on the keys folder sees: its certificate, issued or found."""
    start.wait()
    _key, cert = DevPki(Path(keys)).ensure(name, f"{name} (development)")
    return cert.read_bytes()


def test_processes_starting_together_share_one_development_ca(tmp_path: Path) -> None:
    """The API, the workers and the CLI all start on an empty keys folder at the first run: one CA, one key per name,
    whoever comes first (files written whole: a certificate on disk means its key is there)."""
    keys = tmp_path / "keys"
    names = ["platform-seal", "platform-seal", "tsa", "platform-seal", "tsa", "platform-seal"]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(len(names), mp_context=context) as pool:
        start = manager.Barrier(len(names))  # all at once, as at a first `make run`
        seen = list(pool.map(_issue_in_a_process, [str(keys)] * len(names), names, [start] * len(names)))
    assert len({s for s, n in zip(seen, names, strict=True) if n == "platform-seal"}) == 1
    assert len({s for s, n in zip(seen, names, strict=True) if n == "tsa"}) == 1
    ca = x509.load_pem_x509_certificate((keys / f"{CA_NAME}.cert.pem").read_bytes())
    for name in ("platform-seal", "tsa"):
        cert = x509.load_pem_x509_certificate((keys / f"{name}.cert.pem").read_bytes())
        cert.verify_directly_issued_by(ca)  # signed by the one CA on disk

"""One `PdfSigner` per process keeps pyHanko signers and the timestamper loaded: every signature it makes verifies
offline with pyHanko's validator against the development CA, timestamp included, and a certificate replaced on disk is
used from the next signature on."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader

from documents.rendering import Renderer
from documents.signing import CA_NAME, SEAL_NAME, TSA_NAME, DevPki, PdfSigner
from documents.verification import verify_document


def _signer_serials(pdf: bytes) -> list[int]:
    return [sig.signer_cert.serial_number for sig in PdfFileReader(BytesIO(pdf)).embedded_signatures]


def test_cached_signers_sign_verifiable_documents_and_follow_a_replaced_certificate(
    renderer: Renderer, tmp_path: Path
) -> None:
    pki = DevPki(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = renderer.pdf_from_html(AGREED)

    signed = []
    before = datetime.now(UTC).replace(microsecond=0)
    for _ in range(3):
        once = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
        twice = signer.sign(once, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal",
                            reason="seal", timestamp=True)  # fmt: skip
        signed.append(twice)
    after = datetime.now(UTC)
    for document in signed:
        report = verify_document(document, trust_root=pki.ca_cert_path)
        assert report.ok and len(report.signatures) == 2, report.summary()
        client, seal = report.signatures
        assert (client.timestamped, client.timestamp) == (False, None)
        assert seal.timestamped and seal.timestamp is not None and before <= seal.timestamp <= after
        reader = PdfFileReader(BytesIO(document))
        assert {s.sig_object["/SubFilter"] for s in reader.embedded_signatures} == {"/ETSI.CAdES.detached"}
    first_serial = _signer_serials(signed[0])[0]
    assert {_signer_serials(d)[0] for d in signed} == {first_serial}

    key_path, cert_path = pki.ensure("user-a", "Ann")
    key_path.unlink()
    cert_path.unlink()  # the certificate is replaced (renewed) while the process runs
    renewed = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
    report = verify_document(renewed, trust_root=pki.ca_cert_path)
    assert report.ok, report.summary()
    assert _signer_serials(renewed)[0] != first_serial


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
    """Development signers' keys are ECDSA; the signing path takes whatever keys the keys folder holds."""
    pki = _pki_of_rsa_keys(tmp_path / "keys")
    signer = PdfSigner(pki)
    pdf = renderer.pdf_from_html(AGREED)
    once = signer.sign(pdf, signer_name="user-a", common_name="Ann", field_name="ClientSignature", reason="ok")
    sealed = signer.sign(once, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal", reason="seal",
                         timestamp=True)  # fmt: skip
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert report.ok and len(report.signatures) == 2, report.summary()
    assert [s.timestamped for s in report.signatures] == [False, True]


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


AGREED = "<html><head><title>t</title></head><body><p>Agreed.</p></body></html>"


def _foreign_tsa(pki: DevPki, tmp_path: Path) -> None:
    """The keys folder's TSA replaced by one a foreign CA issued."""
    foreign = DevPki(tmp_path / "foreign")
    for source, target in zip(
        foreign.ensure(TSA_NAME, "rogue TSA", timestamping=True), pki.paths(TSA_NAME), strict=False
    ):
        target.write_bytes(source.read_bytes())


def test_a_timestamp_whose_authority_is_not_under_the_platform_ca_is_reported(
    renderer: Renderer, tmp_path: Path
) -> None:
    pki = DevPki(tmp_path / "keys")
    pdf = renderer.pdf_from_html(AGREED)
    pki.ensure(TSA_NAME, "innot TSA", timestamping=True)
    _foreign_tsa(pki, tmp_path)
    sealed = PdfSigner(pki).sign(pdf, signer_name=SEAL_NAME, common_name="seal", field_name="PlatformSeal",
                                 reason="seal", timestamp=True)  # fmt: skip
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert not report.ok and report.signatures[0].timestamped
    assert report.signatures[0].problems == ["the timestamp authority's certificate does not chain to the platform CA"]


def test_a_tsa_key_of_an_earlier_keys_folder_is_issued_again_for_the_local_timestamper(
    renderer: Renderer, tmp_path: Path
) -> None:
    """Keys folders of earlier versions hold an ECDSA TSA key; pyHanko's local timestamper signs with RSA only."""
    pki = DevPki(tmp_path / "keys")
    pki.ensure("old-tsa", "innot TSA", timestamping=False)  # an ECDSA key, as earlier versions issued the TSA's
    for source, target in zip(pki.paths("old-tsa"), pki.paths(TSA_NAME), strict=False):
        target.write_bytes(source.read_bytes())
    sealed = PdfSigner(pki).sign(renderer.pdf_from_html(AGREED), signer_name=SEAL_NAME, common_name="seal",
                                 field_name="PlatformSeal", reason="seal", timestamp=True)  # fmt: skip
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert report.ok and report.signatures[0].timestamped, report.summary()


class _TimestampAuthority(BaseHTTPRequestHandler):
    """An RFC 3161 server over HTTP, as a production TSA answers (here pyHanko's local timestamper behind it)."""

    stamper: Any = None
    requests = 0

    def do_POST(self) -> None:
        from asn1crypto import tsp  # type: ignore[import-untyped]

        request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
        body = self.stamper.request_tsa_response(request).dump()
        type(self).requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_the_seal_is_timestamped_by_the_configured_timestamp_authority(renderer: Renderer, tmp_path: Path) -> None:
    from documents.signing import _local_timestamper

    pki = DevPki(tmp_path / "keys")
    pki.ensure("remote-tsa", "remote TSA", timestamping=True)
    _TimestampAuthority.stamper = _local_timestamper(*pki.paths("remote-tsa"))
    server = HTTPServer(("127.0.0.1", 0), _TimestampAuthority)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        signer = PdfSigner(pki, timestamp_url=f"http://127.0.0.1:{server.server_port}/tsa")
        sealed = signer.sign(renderer.pdf_from_html(AGREED), signer_name=SEAL_NAME, common_name="seal",
                             field_name="PlatformSeal", reason="seal", timestamp=True)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert _TimestampAuthority.requests >= 1
    report = verify_document(sealed, trust_root=pki.ca_cert_path)
    assert report.ok and report.signatures[0].timestamped, report.summary()
    assert "remote TSA" in (report.signatures[0].timestamp_authority or "")
    assert not pki.paths(TSA_NAME)[1].exists()  # the local TSA was never needed

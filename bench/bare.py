"""The bare baselines bench.documents measures our document pipeline against, side by side: a plain WeasyPrint
render and plain pyHanko signatures of the same document, nothing reused from one document to the next."""

from __future__ import annotations

from documents.rendering import TEMPLATES
from documents.signing import TSA_NAME, DevPki


def with_inline_css(html: str) -> str:
    css = (TEMPLATES / "documents.css").read_text(encoding="utf-8")
    return html.replace("</head>", f"<style>{css}</style></head>", 1)


def bare_render(html: str) -> bytes:
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def bare_signatures(pdf: bytes, pki: DevPki, signers: list[tuple[str, str]]) -> bytes:
    """The contract's signatures as a plain pyHanko script makes them: keys, certificates and the timestamper loaded
    from their files at each signature, the last one (the platform seal) timestamped."""
    from io import BytesIO

    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields
    from pyhanko.sign import signers as pyhanko_signers
    from pyhanko.sign.timestamps import DummyTimeStamper

    for n, (name, field_name) in enumerate(signers):
        key, cert, ca = pki.paths(name)
        timestamper = None
        if n == len(signers) - 1:
            tsa_key, tsa_cert, _ca = pki.paths(TSA_NAME)
            timestamper = DummyTimeStamper(
                tsa_cert=load_cert_from_pemder(str(tsa_cert)), certs_to_embed=[load_cert_from_pemder(str(ca))],
                tsa_key=load_private_key_from_pemder(str(tsa_key), passphrase=None),
            )  # fmt: skip
        out = BytesIO()
        pyhanko_signers.sign_pdf(
            IncrementalPdfFileWriter(BytesIO(pdf)),
            pyhanko_signers.PdfSignatureMetadata(
                field_name=field_name, reason=field_name, md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
            ),
            signer=pyhanko_signers.SimpleSigner.load(str(key), str(cert), ca_chain_files=(str(ca),)),
            timestamper=timestamper, output=out,
        )  # fmt: skip
        pdf = out.getvalue()
    return pdf

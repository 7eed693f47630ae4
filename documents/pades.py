"""PAdES signatures of our own PDFs without pyHanko's generic machinery (verification still goes through pyHanko).

pyHanko builds each CMS container through asn1crypto (which re-encodes the certificates it embeds at every
signature) and each incremental update through its generic PDF reader and writer, with an XMP metadata update and
three event loops: ~13 ms of Python per signature, about a page's layout for the three signatures of a contract.
Here (~0.6 ms a signature):

* `CmsSigner` keeps, per signing key, the DER of everything that does not change from one signature to the next
  (certificates, signer identifier, ESS signing-certificate-v2 attribute, algorithm identifiers) and assembles a
  CAdES-detached `SignedData` (content type, message digest and signing-certificate-v2 signed attributes, as
  pyHanko writes them for PAdES) around the document digest: one key operation and a few byte joins;
* `TimestampAuthority` issues RFC 3161 tokens (TSTInfo signed by a time-stamping key) the same way;
* `prepare_signature` appends one incremental update to a PDF whose structure it reads itself (cross-reference
  tables or streams, object streams): the signature field and its invisible widget (as pyHanko makes them), the
  signature dictionary with its reserved `/Contents`, the updated page, AcroForm and, the first time, catalog
  (with the ESIC extension), and a cross-reference stream; then hashes the byte range. `embed_container` writes
  the container in place. The document information and XMP metadata are left as they are (PDF/A wants the two
  equal; pyHanko rewrites both at every signature).

Anything outside what is handled here (encryption, hybrid cross-references, indirect annotation or field arrays,
an existing field of the same name, a stream filter other than Flate...) raises `UnsupportedPdf`, and the caller
signs with pyHanko instead.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

# --- DER ----------------------------------------------------------------------------------------------------------

SEQUENCE, SET, OCTET_STRING, INTEGER, OID, GENERALIZED_TIME = 0x30, 0x31, 0x04, 0x02, 0x06, 0x18
CONTEXT_0, CONTEXT_1, CONTEXT_4 = 0xA0, 0xA1, 0xA4  # constructed context-specific tags [0], [1], [4]
NULL = b"\x05\x00"


def tlv(tag: int, *parts: bytes) -> bytes:
    """One DER element: tag, definite length, contents."""
    content = b"".join(parts)
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def der_int(value: int) -> bytes:
    return tlv(INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big", signed=True))


def der_oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(OID, bytes(body))


def attribute(oid: str, value: bytes) -> bytes:
    return tlv(SEQUENCE, der_oid(oid), tlv(SET, value))


ID_DATA = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"
ID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
ID_SIGNATURE_TIME_STAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105 (an OID)
TSA_POLICY = "1.3.6.1.4.1.4146.2.2"  # the policy pyHanko's development time-stamping authority announces
SHA256 = tlv(SEQUENCE, der_oid("2.16.840.1.101.3.4.2.1"), NULL)


# --- keys ---------------------------------------------------------------------------------------------------------

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey


@dataclass(frozen=True)
class KeyOperation:
    """How one private key signs (SHA-256 where the algorithm takes a digest) and how CMS names that."""

    sign: Callable[[bytes], bytes]
    algorithm: bytes  # DER AlgorithmIdentifier of the signature
    max_length: int  # the longest signature value it makes (for the reserved size)


def key_operation(key: object) -> KeyOperation:
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_key = key
        return KeyOperation(
            sign=lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
            algorithm=tlv(SEQUENCE, der_oid("1.2.840.113549.1.1.11"), NULL),  # sha256WithRSAEncryption
            max_length=(key.key_size + 7) // 8,
        )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        ec_key = key
        return KeyOperation(
            sign=lambda data: ec_key.sign(data, ec.ECDSA(hashes.SHA256())),
            algorithm=tlv(SEQUENCE, der_oid("1.2.840.10045.4.3.2")),  # ecdsa-with-SHA256
            max_length=2 * ((key.curve.key_size + 7) // 8) + 16,  # DER SEQUENCE of two INTEGERs
        )
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        ed_key = key
        oid = "1.3.101.112" if isinstance(key, ed25519.Ed25519PrivateKey) else "1.3.101.113"
        return KeyOperation(sign=ed_key.sign, algorithm=tlv(SEQUENCE, der_oid(oid)), max_length=114)
    raise TypeError(f"unsupported signing key type {type(key).__name__}")


def load_private_key(pem: bytes) -> SigningKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, SigningKey):
        raise TypeError(f"unsupported signing key type {type(key).__name__}")
    return key


# --- CMS ----------------------------------------------------------------------------------------------------------


class CmsSigner:
    """Detached CAdES `SignedData` containers of one key and certificate, the constant parts encoded once."""

    def __init__(self, key: object, certificate: bytes, chain: tuple[bytes, ...] = ()) -> None:
        cert = x509.load_der_x509_certificate(certificate)
        self.key = key_operation(key)
        self.certificate = certificate
        self.subject = cert.subject.public_bytes()
        issuer = cert.issuer.public_bytes()
        serial = der_int(cert.serial_number)
        self.sid = tlv(SEQUENCE, issuer, serial)  # IssuerAndSerialNumber
        # the certificates embedded (the chain, roots included, as pyHanko does), in DER's SET OF order
        self.certificates = tlv(CONTEXT_0, *sorted({certificate, *chain}))
        issuer_serial = tlv(SEQUENCE, tlv(SEQUENCE, tlv(CONTEXT_4, issuer)), serial)
        ess_cert_id = tlv(SEQUENCE, tlv(OCTET_STRING, hashlib.sha256(certificate).digest()), issuer_serial)
        self.signing_certificate = attribute(ID_SIGNING_CERTIFICATE_V2, tlv(SEQUENCE, tlv(SEQUENCE, ess_cert_id)))

    def signed_data(
        self,
        digest: bytes,
        *,
        content_type: str = ID_DATA,
        content: bytes | None = None,
        unsigned: Callable[[bytes], bytes] | None = None,
        dry_run: bool = False,
    ) -> bytes:
        """The `ContentInfo` of a `SignedData` over `digest` (SHA-256 of the content, detached unless `content`
        is given); `unsigned` makes the unsigned attributes from the signature value; `dry_run` signs nothing
        (zeros of the longest signature) to size the container."""
        attrs = sorted(  # a DER SET OF is sorted
            [
                attribute(ID_CONTENT_TYPE, der_oid(content_type)),
                attribute(ID_MESSAGE_DIGEST, tlv(OCTET_STRING, digest)),
                self.signing_certificate,
            ]
        )
        signed_attrs = b"".join(attrs)
        signature = bytes(self.key.max_length) if dry_run else self.key.sign(tlv(SET, signed_attrs))
        unsigned_attrs = tlv(CONTEXT_1, unsigned(signature)) if unsigned is not None else b""
        signer_info = tlv(
            SEQUENCE, der_int(1), self.sid, SHA256, tlv(CONTEXT_0, signed_attrs), self.key.algorithm,
            tlv(OCTET_STRING, signature), unsigned_attrs,
        )  # fmt: skip
        if content is None:
            encapsulated = tlv(SEQUENCE, der_oid(content_type))
        else:
            encapsulated = tlv(SEQUENCE, der_oid(content_type), tlv(CONTEXT_0, tlv(OCTET_STRING, content)))
        version = 1 if content_type == ID_DATA else 3
        signed_data = tlv(
            SEQUENCE, der_int(version), tlv(SET, SHA256), encapsulated, self.certificates, tlv(SET, signer_info)
        )
        return tlv(SEQUENCE, der_oid(ID_SIGNED_DATA), tlv(CONTEXT_0, signed_data))


class TimestampAuthority:
    """RFC 3161 time-stamp tokens signed by a time-stamping key (its certificate with the critical
    timeStamping extended key usage)."""

    def __init__(self, signer: CmsSigner) -> None:
        self.signer = signer
        self.name = tlv(CONTEXT_0, tlv(CONTEXT_4, signer.subject))  # tsa [0] GeneralName directoryName

    def token(self, message: bytes, *, dry_run: bool = False, at: datetime | None = None) -> bytes:
        imprint = tlv(SEQUENCE, SHA256, tlv(OCTET_STRING, hashlib.sha256(message).digest()))
        when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%SZ").encode("ascii")
        tst_info = tlv(
            SEQUENCE, der_int(1), der_oid(TSA_POLICY), imprint, der_int(secrets.randbits(63) | 1 << 62),
            tlv(GENERALIZED_TIME, when), self.name,
        )  # fmt: skip
        return self.signer.signed_data(
            hashlib.sha256(tst_info).digest(), content_type=ID_CT_TST_INFO, content=tst_info, dry_run=dry_run
        )

    def signature_timestamp(self, *, dry_run: bool = False) -> Callable[[bytes], bytes]:
        """The unsigned attributes of a signature: its signature-time-stamp token."""
        return lambda signature: attribute(ID_SIGNATURE_TIME_STAMP_TOKEN, self.token(signature, dry_run=dry_run))


def container(signer: CmsSigner, digest: bytes, tsa: TimestampAuthority | None, *, dry_run: bool = False) -> bytes:
    """The CMS container of a PDF signature over `digest`, with a signature timestamp when `tsa` is given."""
    unsigned = tsa.signature_timestamp(dry_run=dry_run) if tsa is not None else None
    return signer.signed_data(digest, unsigned=unsigned, dry_run=dry_run)


# --- PDF ----------------------------------------------------------------------------------------------------------


class UnsupportedPdf(Exception):
    """A PDF structure this module does not update: sign it with pyHanko."""


class ContainerTooLarge(Exception):
    def __init__(self, needed: int) -> None:
        super().__init__(f"the signature container needs {needed} hex digits")
        self.needed = needed


_SKIP = re.compile(rb"(?:[ \t\r\n\x0c\x00]+|%[^\r\n]*)*")
_TOKEN_END = re.compile(rb"[ \t\r\n\x0c\x00()<>\[\]{}/%]")
_REFERENCE = re.compile(rb"(\d+)[ \t\r\n\x0c\x00]+(\d+)[ \t\r\n\x0c\x00]+R")
_OBJECT_HEADER = re.compile(rb"(\d+)[ \t\r\n\x0c\x00]+(\d+)[ \t\r\n\x0c\x00]+obj")
_STARTXREF = re.compile(rb"startxref\s+(\d+)")
_XREF_SUBSECTION = re.compile(rb"(\d+)[ \t]+(\d+)[ \t]*\r?\n?")
_XREF_ENTRY = re.compile(rb"(\d{10})[ \t](\d{5})[ \t]([nf])[ \t\r\n]*")


def _skip(data: bytes, i: int) -> int:
    match = _SKIP.match(data, i)
    return match.end() if match else i


def _value_end(data: bytes, i: int) -> int:
    """The end of the PDF object starting at `i` (no whitespace before it)."""
    c = data[i]
    if c == 0x3C:  # <
        if data[i + 1] == 0x3C:  # << dictionary >>
            j = i + 2
            while True:
                j = _skip(data, j)
                if data[j] == 0x3E:
                    if data[j + 1] != 0x3E:
                        raise UnsupportedPdf("malformed dictionary")
                    return j + 2
                j = _skip(data, _value_end(data, j))  # key
                j = _value_end(data, j)  # value
        return data.index(b">", i) + 1  # <hex string>
    if c == 0x5B:  # [ array ]
        j = i + 1
        while True:
            j = _skip(data, j)
            if data[j] == 0x5D:
                return j + 1
            j = _value_end(data, j)
    if c == 0x28:  # (literal string), balanced parentheses, backslash escapes
        depth, j = 0, i
        while True:
            ch = data[j]
            if ch == 0x5C:
                j += 2
                continue
            if ch == 0x28:
                depth += 1
            elif ch == 0x29:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
    if c in b")>]}{%":
        raise UnsupportedPdf(f"unexpected delimiter {chr(c)!r}")
    reference = _REFERENCE.match(data, i)
    if reference:
        return reference.end()
    end = _TOKEN_END.search(data, i + 1)  # a name, number, boolean or null
    return end.start() if end else len(data)


def _dictionary(data: bytes, i: int) -> dict[bytes, bytes]:
    """The entries of the dictionary at `i`: raw key (`/Name`) -> raw value, in order."""
    i = _skip(data, i)
    if not data.startswith(b"<<", i):
        raise UnsupportedPdf("a dictionary was expected")
    items: dict[bytes, bytes] = {}
    j = i + 2
    while True:
        j = _skip(data, j)
        if data.startswith(b">>", j):
            return items
        key_end = _value_end(data, j)
        key = data[j:key_end]
        if not key.startswith(b"/"):
            raise UnsupportedPdf("a dictionary key must be a name")
        start = _skip(data, key_end)
        end = _value_end(data, start)
        items[key] = data[start:end]
        j = end


def _array(raw: bytes) -> list[bytes]:
    if not raw.startswith(b"["):
        raise UnsupportedPdf("an array was expected")
    items: list[bytes] = []
    j = 1
    while True:
        j = _skip(raw, j)
        if raw[j] == 0x5D:
            return items
        end = _value_end(raw, j)
        items.append(raw[j:end])
        j = end


def _reference(raw: bytes) -> int:
    match = _REFERENCE.fullmatch(raw)
    if not match:
        raise UnsupportedPdf(f"an indirect reference was expected, not {raw[:40]!r}")
    return int(match.group(1))


def _serialise(items: dict[bytes, bytes]) -> bytes:
    return b"<<" + b" ".join(key + b" " + value for key, value in items.items()) + b">>"


def pdf_text(text: str) -> bytes:
    """A PDF text string: literal when printable ASCII, otherwise UTF-16BE with its byte order mark."""
    if text.isascii() and text.isprintable():
        return b"(" + text.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _stream_data(data: bytes, dict_end: int, entries: dict[bytes, bytes]) -> bytes:
    """The decoded data of the stream whose dictionary ends at `dict_end`."""
    match = re.compile(rb"[ \t\r\n\x0c\x00]*stream\r?\n").match(data, dict_end)
    if not match or b"/DecodeParms" in entries or not entries.get(b"/Length", b"").isdigit():
        raise UnsupportedPdf("unsupported stream")
    raw = data[match.end() : match.end() + int(entries[b"/Length"])]
    flt = entries.get(b"/Filter")
    if flt is None:
        return raw
    if flt.replace(b" ", b"") in {b"/FlateDecode", b"[/FlateDecode]"}:
        return zlib.decompress(raw)
    raise UnsupportedPdf(f"unsupported stream filter {flt!r}")


class _Document:
    """The objects of a PDF as its cross-references locate them (the latest revision of each)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        found = list(_STARTXREF.finditer(data, max(0, len(data) - 2048)))
        if not found:
            raise UnsupportedPdf("no startxref")
        self.startxref = int(found[-1].group(1))
        self.xref: dict[int, tuple[int, int, int]] = {}  # number -> (type, offset or stream, generation or index)
        self.trailer: dict[bytes, bytes] = {}
        self._object_streams: dict[int, tuple[bytes, dict[int, int]]] = {}
        offset: int | None = self.startxref
        visited: set[int] = set()
        while offset is not None:
            if offset in visited or offset >= len(data):
                raise UnsupportedPdf("cross-reference loop")
            visited.add(offset)
            trailer = self._read_section(offset)
            if not self.trailer:
                self.trailer = trailer
            if b"/XRefStm" in trailer or b"/Encrypt" in trailer:
                raise UnsupportedPdf("hybrid cross-references or encryption")
            prev = trailer.get(b"/Prev")
            offset = int(prev) if prev is not None else None

    def _add(self, number: int, entry: tuple[int, int, int]) -> None:
        self.xref.setdefault(number, entry)  # sections are read newest first

    def _read_section(self, offset: int) -> dict[bytes, bytes]:
        data = self.data
        if data.startswith(b"xref", offset):
            j = _skip(data, offset + 4)
            while not data.startswith(b"trailer", j):
                sub = _XREF_SUBSECTION.match(data, j)
                if not sub:
                    raise UnsupportedPdf("malformed cross-reference table")
                start, count = int(sub.group(1)), int(sub.group(2))
                j = sub.end()
                for number in range(start, start + count):
                    entry = _XREF_ENTRY.match(data, j)
                    if not entry:
                        raise UnsupportedPdf("malformed cross-reference entry")
                    kind = 1 if entry.group(3) == b"n" else 0
                    self._add(number, (kind, int(entry.group(1)), int(entry.group(2))))
                    j = entry.end()
                j = _skip(data, j)
            return _dictionary(data, j + len(b"trailer"))
        header = _OBJECT_HEADER.match(data, offset)
        if not header:
            raise UnsupportedPdf("no cross-reference at startxref")
        start = _skip(data, header.end())
        entries = _dictionary(data, start)
        if entries.get(b"/Type") != b"/XRef":
            raise UnsupportedPdf("no cross-reference stream at startxref")
        rows = _stream_data(data, _value_end(data, start), entries)
        widths = [int(w) for w in _array(entries[b"/W"])]
        index = [int(v) for v in _array(entries.get(b"/Index", b"[0 " + entries[b"/Size"] + b"]"))]
        size, position = sum(widths), 0
        for first, count in zip(index[::2], index[1::2], strict=True):
            for number in range(first, first + count):
                row = rows[position : position + size]
                position += size
                fields, k = [], 0
                for width in widths:
                    fields.append(int.from_bytes(row[k : k + width], "big"))
                    k += width
                kind = fields[0] if widths[0] else 1
                self._add(number, (kind, fields[1], fields[2] if widths[2] else 0))
        return entries

    def generation(self, number: int) -> int:
        kind, _, generation = self.xref.get(number, (0, 0, 0))
        return generation if kind == 1 else 0

    def locate(self, number: int) -> tuple[bytes, int]:
        """(buffer, offset) of the value of object `number`."""
        kind, where, _ = self.xref.get(number, (0, 0, 0))
        if kind == 1:
            header = _OBJECT_HEADER.match(self.data, where)
            if not header or int(header.group(1)) != number:
                raise UnsupportedPdf(f"object {number} is not where the cross-reference says")
            return self.data, _skip(self.data, header.end())
        if kind == 2:
            buffer, offsets = self._object_stream(where)
            if number not in offsets:
                raise UnsupportedPdf(f"object {number} is not in object stream {where}")
            return buffer, _skip(buffer, offsets[number])
        raise UnsupportedPdf(f"object {number} is free")

    def _object_stream(self, number: int) -> tuple[bytes, dict[int, int]]:
        if number not in self._object_streams:
            buffer, start = self.locate(number)
            entries = _dictionary(buffer, start)
            decoded = _stream_data(buffer, _value_end(buffer, start), entries)
            first, count = int(entries[b"/First"]), int(entries[b"/N"])
            numbers = [int(v) for v in decoded[:first].split()]
            if len(numbers) != 2 * count:
                raise UnsupportedPdf("malformed object stream")
            offsets = {numbers[2 * k]: first + numbers[2 * k + 1] for k in range(count)}
            self._object_streams[number] = (decoded, offsets)
        return self._object_streams[number]

    def dictionary(self, number: int) -> dict[bytes, bytes]:
        buffer, start = self.locate(number)
        return _dictionary(buffer, start)


ESIC_EXTENSION = b"<</Type /DeveloperExtensions /BaseVersion /1.7 /ExtensionLevel 1>>"
CONTENTS_PLACEHOLDER = b"/Contents <"
BYTE_RANGE_WIDTH = 48


def _first_page(doc: _Document, catalog: dict[bytes, bytes]) -> int:
    number = _reference(catalog[b"/Pages"])
    for _ in range(64):  # the depth of a page tree
        node = doc.dictionary(number)
        if node.get(b"/Type") == b"/Page":
            return number
        kids = _array(node.get(b"/Kids", b"[]"))
        if not kids:
            raise UnsupportedPdf("a document without pages")
        number = _reference(kids[0])
    raise UnsupportedPdf("page tree too deep")


@dataclass(frozen=True)
class PreparedUpdate:
    """A PDF with its signature update appended, the `/Contents` reserved; `digest` covers the byte range."""

    data: bytearray
    contents_at: int  # offset of the first hex digit of /Contents
    reserved: int  # hex digits
    digest: bytes


def prepare_signature(
    pdf: bytes, *, field_name: str, reason: str, reserved: int, signed_at: datetime | None = None
) -> PreparedUpdate:
    """Append the incremental update of a new invisible signature field `field_name` on the first page, with
    `reserved` hex digits for the CMS container, and hash its byte range (SHA-256)."""
    try:
        return _prepare(pdf, field_name, reason, reserved, signed_at or datetime.now(UTC))
    except UnsupportedPdf:
        raise
    except (IndexError, KeyError, ValueError, zlib.error) as error:  # a structure this reader does not follow
        raise UnsupportedPdf(str(error)) from error


_HEADER = re.compile(rb"%PDF-(\d)\.(\d)")


def _prepare(pdf: bytes, field_name: str, reason: str, reserved: int, signed_at: datetime) -> PreparedUpdate:
    header = _HEADER.match(pdf)
    if not header or (int(header.group(1)), int(header.group(2))) < (1, 5):
        raise UnsupportedPdf("cross-reference streams need PDF 1.5")
    doc = _Document(pdf)
    trailer = doc.trailer
    root = _reference(trailer[b"/Root"])
    catalog = doc.dictionary(root)
    if b"/Perms" in catalog:
        raise UnsupportedPdf("the document carries DocMDP or usage-rights permissions")
    page = _first_page(doc, catalog)
    page_dict = doc.dictionary(page)
    annots = _array(page_dict.get(b"/Annots", b"[]"))  # an indirect array raises: pyHanko updates that one

    next_number = int(trailer[b"/Size"])
    field, signature = next_number, next_number + 1
    next_number += 2
    form_raw = catalog.get(b"/AcroForm")
    if form_raw is not None:
        form_number = _reference(form_raw)
        form = doc.dictionary(form_number)
        fields = _array(form.get(b"/Fields", b"[]"))
        name = pdf_text(field_name)
        for existing in fields:
            if doc.dictionary(_reference(existing)).get(b"/T") == name:
                raise UnsupportedPdf("the field exists: pyHanko fills existing fields")
    else:
        form_number, form, fields = next_number, {}, []
        next_number += 1
    extensions = _dictionary(catalog[b"/Extensions"], 0) if b"/Extensions" in catalog else {}
    rewrite_catalog = form_raw is None or b"/ESIC" not in extensions
    xref_number = next_number

    field_ref, signature_ref = b"%d 0 R" % field, b"%d 0 R" % signature
    page_dict[b"/Annots"] = b"[" + b" ".join([*annots, field_ref]) + b"]"
    form[b"/Fields"] = b"[" + b" ".join([*fields, field_ref]) + b"]"
    form[b"/SigFlags"] = b"3"  # SignaturesExist | AppendOnly
    objects: list[tuple[int, int, bytes]] = []
    if rewrite_catalog:
        catalog[b"/AcroForm"] = b"%d 0 R" % form_number
        extensions[b"/ESIC"] = ESIC_EXTENSION
        catalog[b"/Extensions"] = _serialise(extensions)
        objects.append((root, doc.generation(root), _serialise(catalog)))
    objects.append((page, doc.generation(page), _serialise(page_dict)))
    objects.append((form_number, doc.generation(form_number) if form_raw else 0, _serialise(form)))
    objects.append(
        (field, 0, b"<</FT /Sig /T " + pdf_text(field_name) + b" /Type /Annot /Subtype /Widget /F 132 "
         b"/Rect [0 0 0 0] /P %d %d R /V " % (page, doc.generation(page)) + signature_ref + b">>")
    )  # fmt: skip
    when = signed_at.astimezone(UTC).strftime("D:%Y%m%d%H%M%S+00'00'")
    objects.append(
        (signature, 0, b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M "
         + pdf_text(when) + b" /Reason " + pdf_text(reason) + b" /ByteRange [" + b" " * BYTE_RANGE_WIDTH + b"] "
         + CONTENTS_PLACEHOLDER + b"0" * reserved + b">>>")
    )  # fmt: skip

    out = bytearray(pdf)
    if not pdf.endswith((b"\n", b"\r")):
        out += b"\n"
    offsets: dict[int, tuple[int, int]] = {}
    for number, generation, body in objects:
        offsets[number] = (len(out), generation)
        out += b"%d %d obj\n" % (number, generation) + body + b"\nendobj\n"
    xref_at = len(out)
    offsets[xref_number] = (xref_at, 0)
    numbers = sorted(offsets)
    index: list[int] = []
    for number in numbers:
        if index and index[-2] + index[-1] == number:
            index[-1] += 1
        else:
            index += [number, 1]
    if xref_at >= 1 << 32:
        raise UnsupportedPdf("too large for 4-byte offsets")
    rows = b"".join(b"\x01" + offsets[n][0].to_bytes(4, "big") + offsets[n][1].to_bytes(2, "big") for n in numbers)
    ids = _array(trailer[b"/ID"]) if b"/ID" in trailer else []
    first_id = ids[0] if ids else b"<" + secrets.token_hex(16).encode("ascii") + b">"
    xref = {
        b"/Type": b"/XRef",
        b"/Size": b"%d" % (xref_number + 1),
        b"/W": b"[1 4 2]",
        b"/Index": b"[" + b" ".join(b"%d" % v for v in index) + b"]",
        b"/Prev": b"%d" % doc.startxref,
        b"/Root": trailer[b"/Root"],
        **({b"/Info": trailer[b"/Info"]} if b"/Info" in trailer else {}),
        b"/ID": b"[" + first_id + b" <" + secrets.token_hex(16).encode("ascii") + b">]",
        b"/Length": b"%d" % len(rows),
    }
    out += b"%d 0 obj\n" % xref_number + _serialise(xref) + b"\nstream\n" + rows + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at

    signature_at = offsets[signature][0]
    contents = out.index(CONTENTS_PLACEHOLDER, signature_at) + len(CONTENTS_PLACEHOLDER)  # first hex digit
    start, end = contents - 1, contents + reserved + 1  # the excluded range is `<hex>`
    byte_range = b"0 %d %d %d" % (start, end, len(out) - end)
    if len(byte_range) > BYTE_RANGE_WIDTH:
        raise UnsupportedPdf("byte range too wide")
    placeholder = out.index(b"/ByteRange [", signature_at) + len(b"/ByteRange [")
    out[placeholder : placeholder + BYTE_RANGE_WIDTH] = byte_range.ljust(BYTE_RANGE_WIDTH)
    view = memoryview(out)
    digest = hashlib.sha256(view[:start])
    digest.update(view[end:])
    view.release()
    return PreparedUpdate(data=out, contents_at=contents, reserved=reserved, digest=digest.digest())


def embed_container(update: PreparedUpdate, cms: bytes) -> bytes:
    """The signed PDF: `cms` written (hex, zero-padded) into the reserved `/Contents`."""
    digits = cms.hex().encode("ascii")
    if len(digits) > update.reserved:
        raise ContainerTooLarge(len(digits))
    update.data[update.contents_at : update.contents_at + len(digits)] = digits
    return bytes(update.data)

"""What an uploaded file is comes from its bytes: an executable named report.pdf is refused, every accepted type
is recognised from a genuine file, zip-based formats are checked inside, and names are cleaned for the download."""

from __future__ import annotations

import contextlib
import io
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from documents.uploads import RefusedFile, check_upload, clean_file_name, content_disposition

OOXML = "application/vnd.openxmlformats-officedocument"


def windows_executable() -> bytes:
    """The head of a PE file as a linker writes it: DOS stub, then the PE header at e_lfanew."""
    dos = bytearray(b"MZ" + bytes(62))
    dos[0x3C:0x40] = struct.pack("<I", 0x80)
    stub = b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - 64, b"\x00")
    return bytes(dos) + stub + b"PE\x00\x00" + struct.pack("<HH", 0x8664, 3) + bytes(400)


def zipped(entries: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def office(main: str, part: str, *extra: tuple[str, str]) -> bytes:
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Override PartName="/{part}" ContentType="{main}"/></Types>'
    )
    return zipped({"[Content_Types].xml": types, "_rels/.rels": "<Relationships/>", part: "<doc/>", **dict(extra)})


def image(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "teal").save(buffer, kind)
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DOCX = office(f"{OOXML}.wordprocessingml.document.main+xml", "word/document.xml")
XLSX = office(f"{OOXML}.spreadsheetml.sheet.main+xml", "xl/workbook.xml")
PPTX = office(f"{OOXML}.presentationml.presentation.main+xml", "ppt/presentation.xml")
ODT = zipped({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<office:document/>"})


@pytest.mark.parametrize(
    ("name", "content", "media_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("chart.png", image("PNG"), "image/png"),
        ("photo.jpeg", image("JPEG"), "image/jpeg"),
        ("plan.docx", DOCX, f"{OOXML}.wordprocessingml.document"),
        ("model.xlsx", XLSX, f"{OOXML}.spreadsheetml.sheet"),
        ("deck.pptx", PPTX, f"{OOXML}.presentationml.presentation"),
        ("note.odt", ODT, "application/vnd.oasis.opendocument.text"),
        ("figures.csv", b"BMW;3,5\nRenault;2\n", "text/csv"),  # "BM" begins a bitmap too
        ("readme.md", "# Synthèse\n\nMZ est le sigle…\n".encode(), "text/markdown"),
        ("notes.txt", "\ufeffWindows notepad, with a BOM\r\n".encode(), "text/plain"),
        ("bundle.zip", zipped({"annex/a.pdf": PDF, "annex/b.docx": DOCX, "README": "read me"}), "application/zip"),
    ],
)
def test_every_accepted_type_is_recognised_from_its_content(name: str, content: bytes, media_type: str) -> None:
    checked = check_upload(content, name)
    assert (checked.media_type, checked.file_name) == (media_type, name)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.pdf", windows_executable(), "report.pdf: its content is application/x-msdownload (.exe)"),
        ("report.pdf", b"\x7fELF\x02\x01\x01" + bytes(64), "not accepted"),
        ("chart.pdf", image("PNG"), "chart.pdf is a PNG image by its content, not what its name says: name it .png"),
        ("report.pdf", b"just some text", "is a text file by its content"),
        ("plan.docx", office("application/vnd.ms-word.document.macroEnabled.main+xml", "word/document.xml"), "macros"),
        (
            "plan.docx",
            office(f"{OOXML}.wordprocessingml.document.main+xml", "word/document.xml", ("word/vbaProject.bin", "x")),
            "macros",
        ),
        ("book.epub", zipped({"mimetype": "application/epub+zip", "content.opf": "<x/>"}), "not accepted"),
        (
            "bundle.zip",
            zipped({"setup.pdf": windows_executable()}),
            "entry 'setup.pdf': its content is application/x-msdownload",
        ),
        ("bundle.zip", zipped({"../../.bashrc": "rm -rf ~"}), "unsafe path"),
        ("bundle.zip", zipped({"inner.zip": zipped({"a.txt": "x"})}), "zip archive inside a zip archive"),
        ("bundle.zip", zipped({"run.sh": "#!/bin/sh\necho hi\n"}), "is a text file by its content"),
        ("bomb.zip", zipped({"zeros.txt": bytes(101 * 1024 * 1024)}), "inflates past 100 MB"),
        ("broken.zip", b"PK\x03\x04" + bytes(40), "damaged or unreadable"),
        ("utf16.txt", "texte".encode("utf-16"), "binary data of no known type"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_what_is_not_accepted_is_refused_with_what_it_is(name: str, content: bytes, reason: str) -> None:
    with pytest.raises(RefusedFile) as refused:
        check_upload(content, name)
    assert reason in str(refused.value)


def test_a_name_is_cleaned_and_given_the_extension_of_its_content() -> None:
    # an HTML page is text: it is served as text/plain under a name that no browser opens as a page
    assert check_upload(b"<script>alert(1)</script>", "page.html").file_name == "page.html.txt"
    assert check_upload(image("PNG"), "scan").file_name == "scan.png"
    assert check_upload(PDF, None, fallback_name="deliverable-2").file_name == "deliverable-2.pdf"
    # the right-to-left override shows "rapport_exe.pdf" as "rapport_fdp.exe": it is removed, never shown
    assert check_upload(PDF, "rapport\u202efdp.exe").file_name == "rapportfdp.exe.pdf"
    assert clean_file_name("C:\\Users\\jean\\..\\Étude\x00 <finale>.pdf") == "Étude _finale_.pdf"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("CON.txt") == "_CON.txt"
    assert clean_file_name(" ... ") == "file"
    assert len(clean_file_name("a" * 500 + ".pdf")) == 150 and clean_file_name("a" * 500 + ".pdf").endswith(".pdf")


def test_the_download_name_reaches_every_browser() -> None:
    assert content_disposition("report.pdf") == 'attachment; filename="report.pdf"'
    assert content_disposition("Étude finale.pdf") == (
        "attachment; filename=\"Etude finale.pdf\"; filename*=UTF-8''%C3%89tude%20finale.pdf"
    )
    assert (
        content_disposition("報告.pdf")
        == "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf"
    )
    assert content_disposition('a"b\r\nSet-Cookie: x=1.pdf') == 'attachment; filename="a_bSet-Cookie_ x=1.pdf"'


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from([DOCX, ODT, zipped({"a.pdf": PDF, "b.txt": "b"})]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=6),
    cut=st.integers(min_value=4),
)
def test_a_damaged_file_is_refused_never_an_error(base: bytes, edits: list[tuple[int, int]], cut: int) -> None:
    damaged = bytearray(base[: max(4, len(base) - cut % len(base))])
    for at, value in edits:
        damaged[at % len(damaged)] = value
    with contextlib.suppress(RefusedFile):
        check_upload(bytes(damaged), "file.zip")

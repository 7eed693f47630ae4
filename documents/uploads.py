"""What a file uploaded to the platform really is, decided from its bytes, against the one allow-list of the types
the platform accepts and serves back.

Neither the file's name nor the media type its sender declares is trusted: a Windows executable sent as
`report.pdf` with `application/pdf` is still an executable. The content decides the type (magic bytes through
`filetype`; the inside of zip-based formats through `zipfile`), and the name must agree with it, so that the
recipient's system opens the file with the program its content is for. What is accepted, and why:

- PDF, PNG, JPEG: the documents and images a deliverable is made of.
- Word, Excel, PowerPoint (OOXML): a zip whose `[Content_Types].xml` declares the main part of that format;
  macro-enabled files (`.docm`, a `vbaProject.bin` inside) are refused, macros being code.
- OpenDocument text, spreadsheet, presentation: a zip whose `mimetype` entry names the format.
- Plain text, CSV, Markdown: UTF-8 with no control characters; the name's extension picks which.
- Zip: a bundle whose every entry is itself one of the above (a zip in a zip is not opened), under bounds on the
  number of entries and their inflated size, with relative, clean paths and no encryption (what cannot be read
  cannot be checked).

Everything else (executables, scripts, HTML, SVG, archives of other kinds...) is refused with what its content is.
The original name is kept, cleaned of path parts, control and bidirectional-override characters (which can show
`exe.pdf` for `fdp.exe`) and of characters no file system takes.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

import filetype
from lxml import etree


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str
    extensions: tuple[str, ...]  # the first is the one given to a name without any


_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"
TYPES = {
    t.media_type: t
    for t in (
        FileType("application/pdf", "a PDF document", (".pdf",)),
        FileType("image/png", "a PNG image", (".png",)),
        FileType("image/jpeg", "a JPEG image", (".jpg", ".jpeg")),
        FileType(f"{_OOXML}.wordprocessingml.document", "a Word document", (".docx",)),
        FileType(f"{_OOXML}.spreadsheetml.sheet", "an Excel workbook", (".xlsx",)),
        FileType(f"{_OOXML}.presentationml.presentation", "a PowerPoint presentation", (".pptx",)),
        FileType(f"{_ODF}.text", "an OpenDocument text", (".odt",)),
        FileType(f"{_ODF}.spreadsheet", "an OpenDocument spreadsheet", (".ods",)),
        FileType(f"{_ODF}.presentation", "an OpenDocument presentation", (".odp",)),
        FileType("text/plain", "a text file", (".txt",)),
        FileType("text/csv", "a CSV file", (".csv",)),
        FileType("text/markdown", "a Markdown file", (".md",)),
        FileType("application/zip", "a zip archive", (".zip",)),
    )
}
TEXT_TYPES = {ext: TYPES[m] for m in ("text/plain", "text/csv", "text/markdown") for ext in TYPES[m].extensions}
_KNOWN_EXTENSIONS = {ext for t in TYPES.values() for ext in t.extensions}
ACCEPTED = ", ".join(ext for t in TYPES.values() for ext in t.extensions)
# The main part each OOXML format declares in [Content_Types].xml.
_OOXML_MAIN = {
    f"{_OOXML}.wordprocessingml.document.main+xml": f"{_OOXML}.wordprocessingml.document",
    f"{_OOXML}.spreadsheetml.sheet.main+xml": f"{_OOXML}.spreadsheetml.sheet",
    f"{_OOXML}.presentationml.presentation.main+xml": f"{_OOXML}.presentationml.presentation",
}
_CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

MAX_ZIP_ENTRIES = 1000
MAX_INFLATED_BYTES = 100 * 1024 * 1024  # a zip's entries together, once inflated: a zip bomb stops here
MAX_PART_BYTES = 1024 * 1024  # [Content_Types].xml, mimetype
MAX_NAME_CHARS = 150
# C0/C1 controls but tab, line feed, form feed and carriage return
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_FORBIDDEN_IN_NAMES = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


class RefusedFile(ValueError):
    """The file is not one the platform accepts; the message says what it is and what would be accepted."""


@dataclass(frozen=True)
class CheckedFile:
    media_type: str  # the type its content has, from the allow-list
    file_name: str  # the sender's name, cleaned, with the extension of that type


def check_upload(data: bytes, file_name: str | None, *, fallback_name: str = "file") -> CheckedFile:
    """The type of an uploaded file from its content, and its cleaned name; RefusedFile if it is not accepted or
    its name says it is something else."""
    if not data:
        raise RefusedFile("the file is empty")
    name = clean_file_name(file_name or "", fallback=fallback_name)
    extension = PurePosixPath(name).suffix.lower()
    try:
        kind = _content_type(data, extension)
    except RefusedFile as exc:
        raise RefusedFile(f"{name}: {exc}") from exc
    if extension not in kind.extensions:
        if extension in _KNOWN_EXTENSIONS:
            raise RefusedFile(
                f"{name} is {kind.label} by its content, not what its name says: name it {kind.extensions[0]}"
            )
        name = f"{name}{kind.extensions[0]}"  # unknown or missing extension: the content's own one is added
    return CheckedFile(media_type=kind.media_type, file_name=name)


def _content_type(data: bytes, extension: str, *, nested: bool = False) -> FileType:
    guess = filetype.guess(data)
    if guess is not None and guess.mime in ("application/pdf", "image/png", "image/jpeg"):
        return TYPES[guess.mime]
    if data[:4] == b"PK\x03\x04":  # zip, or a format built on it: what is inside decides
        return _zip_type(data, nested=nested)
    # Text before the weaker signatures: "BM" (bitmap) or "MZ" (executable) also begin ordinary text, while a
    # genuine file of those kinds holds control bytes and never passes as text.
    if _is_text(data):
        return TEXT_TYPES.get(extension, TYPES["text/plain"])
    what = f"{guess.mime} (.{guess.extension})" if guess is not None else "binary data of no known type"
    raise RefusedFile(f"its content is {what}, which is not accepted; accepted: {ACCEPTED}")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None


def _zip_type(data: bytes, *, nested: bool) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            names = {entry.filename for entry in entries}
            if "[Content_Types].xml" in names:
                return _office_type(archive, names)
            if "mimetype" in names:
                return _opendocument_type(archive)
            if nested:
                raise RefusedFile("it holds a zip archive inside a zip archive, which is not opened to be checked")
            _check_bundle(archive, entries)
            return TYPES["application/zip"]
    except RefusedFile:
        raise
    except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError, zlib.error, etree.XMLSyntaxError) as exc:
        raise RefusedFile(f"it is a damaged or unreadable zip-based file ({str(exc)[:120]})") from exc


def _read_part(archive: zipfile.ZipFile, name: str) -> bytes:
    if archive.getinfo(name).file_size > MAX_PART_BYTES:
        raise RefusedFile(f"its {name} is larger than a genuine one")
    return archive.read(name)


def _office_type(archive: zipfile.ZipFile, names: set[str]) -> FileType:
    declared = etree.fromstring(_read_part(archive, "[Content_Types].xml"), _XML)
    content_types = {element.get("ContentType", "") for element in declared.iter(f"{_CONTENT_TYPES_NS}Override")}
    if any("macroEnabled" in c for c in content_types) or any(n.lower().endswith("vbaproject.bin") for n in names):
        raise RefusedFile("it is an Office document with macros, which are code: save it without macros")
    main = [_OOXML_MAIN[c] for c in content_types if c in _OOXML_MAIN]
    if len(main) != 1:
        raise RefusedFile(f"it is a zip-based Office file of no accepted kind; accepted: {ACCEPTED}")
    return TYPES[main[0]]


def _opendocument_type(archive: zipfile.ZipFile) -> FileType:
    declared = _read_part(archive, "mimetype").decode("ascii", "replace").strip()
    if declared not in TYPES or not declared.startswith(_ODF):
        raise RefusedFile(f"it is an OpenDocument file of type {declared[:80]!r}, which is not accepted")
    return TYPES[declared]


def _check_bundle(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ZIP_ENTRIES:
        raise RefusedFile(f"the zip holds more than {MAX_ZIP_ENTRIES} entries")
    if sum(entry.file_size for entry in entries) > MAX_INFLATED_BYTES:
        raise RefusedFile(f"the zip inflates past {MAX_INFLATED_BYTES // (1024 * 1024)} MB")
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in entry.filename or _CONTROL.search(entry.filename):
            raise RefusedFile(f"the zip entry {entry.filename[:80]!r} has an unsafe path")
        if entry.flag_bits & 0x1:
            raise RefusedFile(f"the zip entry {entry.filename[:80]!r} is encrypted and cannot be checked")
        if entry.is_dir():
            continue
        # the declared size bounds the read: zipfile stops there and checks the CRC
        content = archive.read(entry)
        if not content:
            continue
        suffix = path.suffix.lower()
        try:
            kind = _content_type(content, suffix, nested=True)
        except RefusedFile as exc:
            raise RefusedFile(f"the zip entry {entry.filename[:80]!r}: {exc}") from exc
        # what unpacks it opens each entry by its extension: it must be the content's (README-like text may have none)
        if suffix not in kind.extensions and not (suffix == "" and kind.media_type == "text/plain"):
            raise RefusedFile(f"the zip entry {entry.filename[:80]!r} is {kind.label} by its content: name it so")


def clean_file_name(name: str, *, fallback: str = "file") -> str:
    """The last part of a name as a sender's system gave it, safe to show and to save anywhere."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    # controls, bidirectional overrides and other invisible formatting characters, unassigned and private code points
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    name = _FORBIDDEN_IN_NAMES.sub("_", " ".join(name.split())).strip(" .")
    if _WINDOWS_DEVICES.match(name):
        name = f"_{name}"
    stem, suffix = (name, "") if "." not in name else (name.rsplit(".", 1)[0], "." + name.rsplit(".", 1)[1])
    if len(suffix) > 16:
        stem, suffix = name, ""
    stem = stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" .")
    return f"{stem}{suffix}" if stem else f"{fallback}{suffix}"


def content_disposition(file_name: str) -> str:
    """`attachment` with the name for every browser (RFC 6266): an ASCII `filename` for old ones, the exact UTF-8
    one in `filename*`."""
    name = clean_file_name(file_name)
    stem, dot, suffix = name.rpartition(".") if "." in name else (name, "", "")

    def ascii_only(text: str) -> str:
        return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("%", "_").strip(" .")

    ascii_name = f"{ascii_only(stem) or 'download'}{dot}{ascii_only(suffix)}"
    if ascii_name == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"

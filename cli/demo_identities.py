"""Legal identities of the demo parties: each party its own SIREN, SIRET and VAT number, valid for its country
(check digits computed here, checked by python-stdnum in the tests), none of them the platform's (config.settings
PlatformIdentity) nor another party's, so an invoice's seller and buyer never share an identifier."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import luhn
from stdnum.iso7064 import mod_11_10


@dataclass(frozen=True)
class Identity:
    country: str
    vat_number: str
    iban: str
    siren: str | None = None  # French parties only
    siret: str | None = None

    def organisation_fields(self) -> dict[str, str | None]:
        return {"country": self.country, "siren": self.siren, "siret": self.siret, "vat_number": self.vat_number}

    def expert_fields(self) -> dict[str, str | None]:
        """What an expert's profile holds (the SIREN is derived from the SIRET at registration)."""
        return {"country": self.country, "siret": self.siret, "vat_number": self.vat_number, "iban": self.iban}


def french(base: str, nic: str, iban: str) -> Identity:
    """A French company from the 8 first digits of its SIREN and the 4 first of its establishment number (NIC):
    Luhn check digits, and the VAT key of the SIREN (12 + 3 x (SIREN mod 97)) mod 97."""
    siren = base + luhn.calc_check_digit(base)
    siret = siren + nic + luhn.calc_check_digit(siren + nic)
    key = (12 + 3 * (int(siren) % 97)) % 97
    return Identity("FR", f"FR{key:02d}{siren}", iban, siren, siret)


def belgian(base: str, iban: str) -> Identity:
    """A Belgian enterprise number: 0 + 7 digits + 97 - (the 8 first mod 97)."""
    number = "0" + base
    return Identity("BE", f"BE{number}{97 - int(number) % 97:02d}", iban)


def german(base: str, iban: str) -> Identity:
    """A German USt-IdNr: 8 digits + an ISO 7064 mod 11,10 check digit."""
    return Identity("DE", f"DE{base}{mod_11_10.calc_check_digit(base)}", iban)


# The platform's own default identity is 732829320 (FR44732829320): no demo party uses it.
CLIENT = french("81234567", "0001", iban="FR7630006000011234567890189")
EXPERT = french("85294106", "0002", iban="FR1420041010050500013M02606")
EXPERT_BE = belgian("4567890", iban="BE71096123456769")
EXPERT_DE = german("26319475", iban="DE89370400440532013000")
# `innot demo`'s parties, registered afresh on each run through the API
DEMO_CLIENT = french("52718903", "0011", iban="FR7630004000031234567890143")
DEMO_EXPERTS = (
    french("44170286", "0004", iban="FR7610107001011234567890129"),
    french("49306125", "0003", iban="FR7630001007941234567890185"),
    french("38815247", "0005", iban="FR8830002005500000157845201"),
)

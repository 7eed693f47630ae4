"""A synthetic, international expert directory for demos, tests and benchmarks.

Deterministic for a given ``(seed, reference_date)``: same ids, names, skills, rates and identifiers.
Identifiers are valid (python-stdnum accepts them): French experts carry a SIREN/SIRET (Luhn) and, unless
they are under the franchise en base, an FR VAT number derived from the SIREN; other EU experts carry a VAT
number of their country; experts outside the EU are ``non_eu``. Every expert accepted the billing mandate.
Rows go in by bulk insert, in batches, reporting progress through a callback.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker
from stdnum import iban, luhn
from stdnum.at import uid as at_uid
from stdnum.iso7064 import mod_11_10
from stdnum.lu import tva as lu_tva
from stdnum.pt import nif as pt_nif

from domain.fx import DEFAULT_RATES
from domain.geo import COUNTRIES
from domain.taxonomy import get_taxonomy
from store.models.community import Expert
from store.models.directory import ExpertSearch

Progress = Callable[[int, int], None]

COUNTRY_WEIGHTS: dict[str, int] = {
    "FR": 30, "BE": 5, "DE": 7, "IT": 4, "ES": 5, "NL": 4, "PT": 2, "AT": 2, "LU": 1, "PL": 3, "SE": 2,
    "GB": 8, "CH": 3, "NO": 1, "US": 8, "CA": 4, "BR": 2, "IN": 3, "SG": 2, "JP": 1, "AU": 1, "MA": 1, "SN": 1,
}  # fmt: skip
# fmt: off
FIRST_NAMES = (
    "Camille", "Léa", "Hugo", "Louis", "Chloé", "Nathan", "Inès", "Jules", "Manon", "Lucas", "Sofia",
    "Marco", "Giulia", "Lukas", "Anna", "Jan", "Eva", "Pablo", "Lucía", "Ana", "João", "Sven", "Emma",
    "Oliver", "Amelia", "James", "Sarah", "Michael", "Priya", "Arjun", "Wei", "Mei", "Yuki", "Haruto",
    "Amina", "Moussa", "Fatou", "Youssef", "Olivia", "Noah", "Zofia", "Piotr", "Lars", "Ingrid",
)
# fmt: on
# fmt: off
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent", "Rossi", "Bianchi", "Müller", "Schmidt",
    "Weber", "García", "López", "Silva", "Santos", "Jansen", "de Vries", "Kowalski", "Nowak", "Andersson",
    "Johansson", "Smith", "Jones", "Brown", "Taylor", "Williams", "Patel", "Sharma", "Tan", "Lim", "Sato",
    "Suzuki", "Diallo", "Ndiaye", "Benali", "Haddad", "Costa", "Ferrari", "Novak", "Olsen", "Peeters",
    "Dupont", "Gauthier",
)
# fmt: on
CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    "FR": (("Paris", "75011"), ("Lyon", "69003"), ("Bordeaux", "33000"), ("Lille", "59000"), ("Nantes", "44000")),
    "BE": (("Bruxelles", "1000"), ("Liège", "4000"), ("Gent", "9000")),
    "DE": (("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095")),
    "IT": (("Milano", "20121"), ("Roma", "00184")),
    "ES": (("Madrid", "28013"), ("Barcelona", "08001")),
    "NL": (("Amsterdam", "1012 AB"), ("Rotterdam", "3011 AA")),
    "PT": (("Lisboa", "1100-148"), ("Porto", "4000-322")),
    "AT": (("Wien", "1010"),),
    "LU": (("Luxembourg", "L-1111"),),
    "PL": (("Warszawa", "00-001"), ("Kraków", "30-001")),
    "SE": (("Stockholm", "111 20"), ("Göteborg", "411 01")),
    "GB": (("London", "EC1A 1BB"), ("Manchester", "M1 1AE")),
    "CH": (("Zürich", "8001"), ("Genève", "1201")),
    "NO": (("Oslo", "0150"),),
    "US": (("New York", "10001"), ("Boston", "02108"), ("Chicago", "60601")),
    "CA": (("Toronto", "M5H 2N2"), ("Montréal", "H2Y 1C6")),
    "BR": (("São Paulo", "01000-000"),),
    "IN": (("Bengaluru", "560001"), ("Mumbai", "400001")),
    "SG": (("Singapore", "049315"),),
    "JP": (("Tokyo", "100-0001"),),
    "AU": (("Sydney", "2000"),),
    "MA": (("Casablanca", "20000"),),
    "SN": (("Dakar", "10200"),),
}
STREETS = {"fr": "rue de la Gare", "de": "Hauptstraße", "it": "Via Roma", "es": "Calle Mayor", "nl": "Stationsstraat"}
EXTRA_LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl", "ar", "zh")
IBAN_BBAN: dict[str, str] = {  # BBAN shape per country: 'n' digit, 'a' upper-case letter
    "FR": "n" * 23, "DE": "n" * 18, "IT": "a" + "n" * 22, "NL": "aaaa" + "n" * 10, "PT": "n" * 21,
    "AT": "n" * 16, "LU": "n" * 16, "PL": "n" * 24, "SE": "n" * 20, "GB": "aaaa" + "n" * 14, "CH": "n" * 17,
}  # fmt: skip
LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "FR": ("SASU", "EURL", "Entrepreneur individuel"),
    "DE": ("Einzelunternehmen", "GmbH"),
    "AT": ("Einzelunternehmen", "GmbH"),
    "GB": ("Sole trader", "Ltd"),
    "US": ("Sole proprietorship", "LLC"),
}


def _digits(rng: random.Random, n: int, first_nonzero: bool = True) -> str:
    head = str(rng.randint(1, 9)) if first_nonzero else str(rng.randint(0, 9))
    return head + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def make_siren(rng: random.Random) -> str:
    body = _digits(rng, 8)
    return body + luhn.calc_check_digit(body)


def make_siret(rng: random.Random, siren: str) -> str:
    body = siren + "0" + _digits(rng, 3, first_nonzero=False)
    return body + luhn.calc_check_digit(body)


def fr_vat(siren: str) -> str:
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def make_vat(rng: random.Random, country: str) -> str:
    """A valid VAT number for an EU country other than France."""
    if country == "DE":
        body = _digits(rng, 8)
        return "DE" + body + mod_11_10.calc_check_digit(body)
    if country == "BE":
        body = "0" + _digits(rng, 7)
        return f"BE{body}{97 - int(body) % 97:02d}"
    if country == "IT":
        body = _digits(rng, 7, first_nonzero=False) + f"{rng.randint(1, 100):03d}"
        return "IT" + body + luhn.calc_check_digit(body)
    if country == "ES":
        number = rng.randint(10_000_000, 99_999_999)
        return f"ES{number}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"
    if country == "NL":
        while True:  # the BSN-style eleven-test: retry the rare body whose check would be 10
            body = _digits(rng, 8)
            check = sum((9 - i) * int(c) for i, c in enumerate(body)) % 11
            if check < 10:
                return f"NL{body}{check}B{rng.randint(1, 99):02d}"
    if country == "PT":
        body = str(rng.choice((1, 2, 5))) + _digits(rng, 7, first_nonzero=False)
        return "PT" + body + pt_nif.calc_check_digit(body)
    if country == "AT":
        body = _digits(rng, 7)
        return "ATU" + body + at_uid.calc_check_digit("U" + body)
    if country == "LU":
        body = _digits(rng, 6)
        return "LU" + body + lu_tva.calc_check_digits(body)
    if country == "PL":
        weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
        while True:
            body = _digits(rng, 9)
            check = sum(w * int(c) for w, c in zip(weights, body, strict=True)) % 11
            if check < 10:
                return f"PL{body}{check}"
    if country == "SE":
        body = _digits(rng, 9)
        return "SE" + body + luhn.calc_check_digit(body) + "01"
    raise ValueError(f"no VAT number generator for {country}")


def make_iban(rng: random.Random, country: str) -> str | None:
    shape = IBAN_BBAN.get(country)
    if shape is None:
        return None
    bban = "".join(str(rng.randint(0, 9)) if c == "n" else rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for c in shape)
    return country + iban.calc_check_digits(country + "00" + bban) + bban


def _rate_in(currency: str, eur: float) -> Decimal:
    local = float(DEFAULT_RATES.rate("EUR", currency)) * eur
    step = 1000 if currency == "JPY" else 100 if currency in {"INR"} else 10
    return Decimal(max(step, round(local / step) * step)).quantize(Decimal("0.01"))


def expert_row(rng: random.Random, reference_date: date) -> dict[str, Any]:
    """One synthetic expert as column values of the ``experts`` table."""
    tax = get_taxonomy()
    country = rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]
    info = COUNTRIES[country]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    languages = [info.languages[0]]
    for lang in info.languages[1:]:
        if rng.random() < (0.85 if lang == "en" else 0.5):
            languages.append(lang)
    if rng.random() < 0.3:
        extra = rng.choice(EXTRA_LANGUAGES)
        if extra not in languages:
            languages.append(extra)
    functions = [rng.choice(tax.function_keys)]
    if rng.random() < 0.3:
        second = rng.choice(tax.function_keys)
        if second not in functions:
            functions.append(second)
    main = tax.functions[functions[0]]
    focus = rng.choice(main.groups)
    focus_skills = [s for s in main.skills if tax.skills[s].group == focus]
    skills = rng.sample(focus_skills, rng.randint(2, 4)) + rng.sample(main.skills, rng.randint(1, 4))
    if len(functions) > 1:
        skills += rng.sample(tax.functions[functions[1]].skills, rng.randint(1, 3))
    skills = list(dict.fromkeys(skills))
    currency = info.currency if rng.random() < 0.9 else rng.choice(("EUR", "USD"))
    eur_rate = min(2500.0, max(250.0, rng.lognormvariate(6.55, 0.35)))
    rated = rng.random() < 0.7
    ratings_count = rng.randint(1, 40) if rated else 0
    on_site = [c for c in rng.sample(list(COUNTRY_WEIGHTS), rng.randint(0, 2)) if c != country]
    city, postcode = rng.choice(CITIES[country])
    siren = siret = vat = None
    if country == "FR":
        siren = make_siren(rng)
        siret = make_siret(rng, siren)
        regime = "franchise_en_base" if rng.random() < 0.35 else "vat_registered"
        vat = fr_vat(siren) if regime == "vat_registered" else None
        form = "Entrepreneur individuel (micro-entreprise)" if regime == "franchise_en_base" else None
    elif info.eu:
        regime, vat, form = "vat_registered", make_vat(rng, country), None
    else:
        regime, form = "non_eu", None
    form = form or rng.choice(LEGAL_FORMS.get(country, ("Sole trader",)))
    company = form not in {"Entrepreneur individuel", "Einzelunternehmen", "Sole trader", "Sole proprietorship"}
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "display_name": f"{first} {last}",
        "legal_name": f"{last} Advisory {form}" if company and "micro" not in form else f"{first} {last}",
        "legal_form": form,
        "headline": f"{main.label_en}: {tax.label(skills[0], 'en')}",
        "country": country,
        "address_line": f"{rng.randint(1, 120)} {STREETS.get(info.languages[0], 'Main Street')}",
        "postcode": postcode,
        "city": city,
        "timezone": info.timezone,
        "utc_offset_minutes": info.utc_offset_minutes,
        "business_functions": functions,
        "skills": skills,
        "languages": languages,
        "countries": on_site,
        "remote": rng.random() < 0.85,
        "daily_rate": _rate_in(currency, eur_rate),
        "currency": currency,
        "available_from": reference_date + timedelta(days=rng.randint(-30, 120)),
        "available_days_per_week": rng.choices((1, 2, 3, 4, 5), weights=(5, 10, 25, 25, 35))[0],
        "vat_regime": regime,
        "siren": siren,
        "siret": siret,
        "vat_number": vat,
        "iban": make_iban(rng, country),
        "billing_mandate_accepted_on": reference_date - timedelta(days=rng.randint(0, 700)),
        "rating": Decimal(f"{min(5.0, max(2.5, rng.gauss(4.3, 0.45))):.2f}") if rated else Decimal("0.00"),
        "ratings_count": ratings_count,
        "completed_missions": ratings_count + (rng.randint(0, 5) if rated else rng.randint(0, 1)),
        "recent_shortlists": min(30, int(rng.expovariate(0.4))),
        "membership_active": rng.random() < 0.93,
    }


def generate_experts(n: int, seed: int, reference_date: date | None = None) -> list[dict[str, Any]]:
    """``n`` expert rows, without touching the database (same rows for the same seed and date)."""
    rng = random.Random(seed)
    ref = reference_date or date.today()
    return [expert_row(rng, ref) for _ in range(n)]


def seed_experts(
    session_factory: sessionmaker[Session],
    n: int,
    seed: int = 42,
    *,
    progress: Progress | None = None,
    reference_date: date | None = None,
    batch_size: int = 5000,
) -> list[uuid.UUID]:
    """Insert ``n`` synthetic experts (bulk, one transaction per batch); returns their ids in order.
    ``progress(done, total)`` is called after each batch. Seeding twice with the same seed into the same
    database collides on ids: pick another seed to add more experts."""
    rng = random.Random(seed)
    ref = reference_date or date.today()
    ids: list[uuid.UUID] = []
    done = 0
    while done < n:
        rows = [expert_row(rng, ref) for _ in range(min(batch_size, n - done))]
        with session_factory() as session, session.begin():
            session.execute(insert(Expert), rows)
            session.execute(insert(ExpertSearch), [{"expert_id": r["id"], "body": r["headline"]} for r in rows])
        ids.extend(row["id"] for row in rows)
        done += len(rows)
        if progress is not None:
            progress(done, n)
    return ids

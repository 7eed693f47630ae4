"""The platform's one gettext catalogue, loaded where any layer can read it: the portal (api), the notices' e-mails
(activities) and the texts the domain names (domain.notices marks them with `N_`).

The English text is the msgid. The catalogue is api/web/locale/<lang>/LC_MESSAGES/messages.po (`make messages`
extracts the texts of the portal, of the e-mails and of the notices into it; babel.cfg says where). English needs no
catalogue; a msgid without a translation shows in English, never as a crash.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "fr")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "api" / "web" / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the marker gettext's extractors know
    """Marks a msgid chosen now and translated where it is shown."""
    return message


def pick_language(*candidates: str | None) -> str:
    for candidate in candidates:
        code = (candidate or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


@cache
def _catalog(lang: str) -> Translations:
    """The language's messages.po, compiled in memory by babel: the .po is the only file shipped and read, so no
    build step can forget it and no stale .mo can hide a translation. Fuzzy entries stay out, as with msgfmt."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translations(lang: str) -> NullTranslations:
    """gettext for this language; English, or any code we do not speak, is the msgid itself."""
    return _catalog(lang) if lang in LANGUAGES and lang != "en" else NullTranslations()

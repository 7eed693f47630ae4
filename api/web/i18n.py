"""The portal's languages: which one a request gets, and its gettext catalog.

The English text is the msgid, in the templates (`{{ _("Dashboard") }}`, `ngettext`, `pgettext` through
jinja2.ext.i18n) and in the code (`translations(lang).gettext("Profile saved.")`). `make messages` extracts them
(babel.cfg says where) into locale/messages.pot and merges that into each language's locale/<lang>/LC_MESSAGES/
messages.po, where the translation is written. English needs no catalog; a msgid without a translation shows in
English, never as a crash.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from domain.stages import MilestoneStage, Stage
from domain.vat import SellerRegime

LANGUAGES = ("en", "fr")
LANG_COOKIE = "innot_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - the marker gettext's extractors know
    """Marks a msgid chosen now and translated where it is shown (the labels below)."""
    return message


# The domain names its values; how a person reads them is the portal's business.
STAGE_LABELS: dict[str, str] = {
    Stage.NEED: N_("Need"),
    Stage.APPROVAL: N_("Budget approval"),
    Stage.QUALIFICATION: N_("Qualification"),
    Stage.SHORTLIST: N_("Shortlist"),
    Stage.INVITATIONS: N_("Invitations"),
    Stage.PROPOSALS: N_("Proposals"),
    Stage.CONTRACT: N_("Contract"),
    Stage.DELIVERY: N_("Delivery"),
    Stage.FEEDBACK: N_("Feedback"),
    Stage.CLOSED: N_("Closed"),
    Stage.CANCELLED: N_("Cancelled"),
    Stage.DISPUTED: N_("Disputed"),
    Stage.NEEDS_ATTENTION: N_("Needs attention"),
    MilestoneStage.AWAITING_DELIVERABLE: N_("Awaiting the deliverable"),
    MilestoneStage.IN_REVIEW: N_("In review"),
    MilestoneStage.INVOICING: N_("Invoicing"),
    MilestoneStage.AWAITING_PAYMENT: N_("Awaiting payment"),
    MilestoneStage.PAID: N_("Paid"),
    # not a stage: what a terminated workflow leaves in the read model
    "terminated": N_("Terminated"),
}
PRICING_LABELS: dict[str, str] = {"fixed": N_("Fixed price"), "daily": N_("Daily rate x days")}
VAT_REGIME_LABELS: dict[SellerRegime, str] = {
    "franchise_en_base": N_("Franchise en base (no VAT)"),
    "vat_registered": N_("VAT registered"),
    "non_eu": N_("Outside the EU"),
}


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


def stage_label(stage: str, lang: str) -> str:
    msgid = STAGE_LABELS.get(stage)
    return translations(lang).gettext(msgid) if msgid else stage.replace("_", " ")

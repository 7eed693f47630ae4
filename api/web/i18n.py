"""The portal's languages: which one a request gets, and the labels it shows (the catalogue itself is
config.i18n's, shared with the e-mails).

The English text is the msgid, in the templates (`{{ _("Dashboard") }}`, `ngettext`, `pgettext` through
jinja2.ext.i18n) and in the code (`translations(lang).gettext("Profile saved.")`). `make messages` extracts them
(babel.cfg says where) into locale/messages.pot and merges that into each language's locale/<lang>/LC_MESSAGES/
messages.po, where the translation is written. English needs no catalog; a msgid without a translation shows in
English, never as a crash.
"""

from __future__ import annotations

from config.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, N_, pick_language, translations
from domain.stages import MilestoneStage, Stage
from domain.vat import SellerRegime

LANG_COOKIE = "innot_lang"

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


def stage_label(stage: str, lang: str) -> str:
    msgid = STAGE_LABELS.get(stage)
    return translations(lang).gettext(msgid) if msgid else stage.replace("_", " ")


__all__ = ["DOMAIN", "LANGUAGES", "LANG_COOKIE", "LOCALE_DIR", "N_", "pick_language", "stage_label", "translations"]

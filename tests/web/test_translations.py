"""Every text of the portal has its French translation: the texts are extracted here by babel from the code and the
templates, with the mapping `make messages` uses (babel.cfg), and looked up in the French catalog."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from api.web.i18n import LANGUAGES, LOCALE_DIR, STAGE_LABELS, VAT_REGIME_LABELS, translations
from domain.stages import MilestoneStage, Stage
from domain.vat import SellerRegime

ROOT = Path(__file__).resolve().parents[2]
HOW = "run `make messages`, then write the msgstr of each in api/web/locale/<lang>/LC_MESSAGES/messages.po"


def portal_texts() -> dict[tuple[str, str | None], str | tuple[str, ...]]:
    """(singular msgid, context) -> the msgid as written (a tuple for ngettext), from the sources themselves."""
    with (ROOT / "babel.cfg").open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping)
    found: dict[tuple[str, str | None], str | tuple[str, ...]] = {}
    for _file, _line, message, _comments, context in extract_from_dir(ROOT, method_map, options_map):
        singular = message[0] if isinstance(message, tuple) else message
        found[(singular, context)] = message
    return found


def catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def test_every_portal_text_is_translated_in_every_language() -> None:
    texts = portal_texts()
    assert len(texts) > 150, "the extraction finds the portal's texts"
    for lang in (code for code in LANGUAGES if code != "en"):
        po = catalog(lang)
        missing, untranslated, fuzzy = [], [], []
        for (msgid, context), written in texts.items():
            entry = po.get(msgid, context)
            if entry is None or (isinstance(written, tuple) and not entry.pluralizable):
                missing.append(written)
            elif entry.fuzzy:
                fuzzy.append(written)
            elif not all(entry.string if isinstance(entry.string, tuple) else [entry.string]):
                untranslated.append(written)
        assert not missing, f"{lang}: not in the catalog ({HOW}): {missing}"
        assert not untranslated, f"{lang}: no translation ({HOW}): {untranslated}"
        assert not fuzzy, f"{lang}: fuzzy, to review then unmark: {fuzzy}"
        problems = [(entry.id, errors) for entry, errors in po.check()]
        assert not problems, f"{lang}: placeholders that differ between msgid and msgstr: {problems}"


def test_every_stage_and_vat_regime_has_a_label() -> None:
    assert {*Stage, *MilestoneStage} <= STAGE_LABELS.keys()
    assert set(VAT_REGIME_LABELS) == set(get_args(SellerRegime))
    fr = translations("fr")
    assert fr.gettext(STAGE_LABELS[Stage.SHORTLIST]) == "Présélection"
    assert fr.ngettext("%(num)d day", "%(num)d days", 3) % {"num": 3} == "3 jours"
    assert fr.ngettext("%(num)d day", "%(num)d days", 1) % {"num": 1} == "1 jour"
    assert fr.pgettext("button", "Log in") == "Se connecter" and fr.gettext("Log in") == "Connexion"

"""The portal's forms offer what people recognise, in their language: skills by name (grouped, searchable by
synonyms), languages and countries by their names, currencies from a list, dates and amounts the local way; a wrong
value is named under its own field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.web import forms
from api.web.core import TEMPLATES, function_choices
from api.web.pages_missions import NEED_FIELDS
from api.web.pickers import PICKERS, field_messages


def _need_page(lang: str, values: Mapping[str, object], errors: dict[str, str] | None = None) -> str:
    return TEMPLATES[lang].get_template("need_new.html").render(
        request=None, user=None, lang=lang, stage=str, csrf="t", csrf_field="csrf_token", flash=None, path="/",
        values=values, functions=function_choices(lang), key="k", field_errors=errors or {},
    )  # fmt: skip


def test_the_french_need_form_names_everything_in_french() -> None:
    html = _need_page("fr", {"languages": "fr", "currency": "EUR", "business_function": "finance"})
    assert '<option value="fr" selected>Français</option>' in html and '<option value="ja" >Japonais</option>' in html
    assert '<option value="DE" >Allemagne</option>' in html
    assert '<option value="EUR" selected>EUR — euro</option>' in html
    assert "> Modélisation financière</label>" in html and "financial_modelling</" not in html
    assert 'type="date"' in html and 'lang="fr"' in html
    assert '<details data-function="finance" open>' in html, "the chosen function's skills unfold"
    assert "ISO" not in html and "virgule" not in html, "nobody types codes or comma lists"


def test_a_skill_is_found_by_its_synonyms_in_either_language() -> None:
    finance = next(f for f in PICKERS["fr"].skills() if f.key == "finance")
    terms = {s.key: s.terms for g in finance.groups for s in g.skills}
    assert "fp&a" in terms["management_control"] and "controle de gestion" in terms["management_control"]
    assert "comptes consolides" in terms["consolidation"]


def test_amounts_are_written_the_readers_way() -> None:
    assert PICKERS["fr"].money("4250", "EUR") == "4\u202f250,00\xa0€"
    assert PICKERS["en"].money("4250", "EUR") == "€4,250.00"


def test_multiple_choices_arrive_as_lists_and_come_back_after_an_error() -> None:
    form = FormData([("skills", "valuation"), ("skills", "fundraising"), ("languages", "fr"), ("languages", "ja")])
    assert forms.items(form, "skills") == ["valuation", "fundraising"]
    assert forms.values(form)["languages"] == ["fr", "ja"]
    html = _need_page("en", forms.values(form))
    assert 'value="valuation" checked' in html and 'value="fundraising" checked' in html
    assert '<option value="ja" selected>Japanese</option>' in html


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"skills": ["no such skill"]}, "skills"),
        ({"languages": ["xx"]}, "languages"),
        ({"start_date": (date.today() - timedelta(days=30)).isoformat()}, "start_date"),
        ({"currency": "ABC"}, "currency"),
    ],
)
def test_the_apis_422_is_shown_under_its_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "title": "Monthly close redesign", "description": "Redesign the monthly close of a mid-size group.",
        "business_function": "finance", "skills": ["valuation"], "languages": ["en"], "budget_min": "600",
        "budget_max": "900", "currency": "EUR", "start_date": (date.today() + timedelta(days=9)).isoformat(),
        "duration_days": "30", "mission_language": "en",
    } | changes  # fmt: skip
    form = FormData([(k, str(v)) for k, vs in values.items() for v in (vs if isinstance(vs, list) else [vs])])
    with pytest.raises(ValidationError) as caught:
        forms.need(form)
    errors = field_messages(caught.value, NEED_FIELDS)
    assert list(errors) == [field]
    html = _need_page("en", forms.values(form), errors)
    assert (f'data-field-error="{field}"' in html and f'aria-describedby="h-{field} e-{field}"' in html) or (
        f'aria-describedby="e-{field}"' in html
    )

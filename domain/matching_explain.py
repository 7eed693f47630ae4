"""One readable sentence per candidate, in French and English, read off the arrays ``domain.matching`` computed
for the need (contributions, rate in the need's currency, start delay, fair-exposure bonus) plus a few facts of
the profile. Nothing here scores anything, so the sentence can never disagree with the numbers next to it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from domain.fx import RatesTable
from domain.matching import CRITERIA, WEIGHTS, DirectoryScores, MatchQuery
from domain.matching_directory import DirectoryArrays
from domain.money import Money

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "skills": "skills",
        "function": "business function",
        "languages": "languages",
        "location": "location",
        "timezone": "time zone overlap",
        "availability": "availability",
        "budget": "budget fit",
        "reputation": "rating and track record",
    },
    "fr": {
        "skills": "les compétences",
        "function": "la fonction",
        "languages": "les langues",
        "location": "la localisation",
        "timezone": "le recouvrement horaire",
        "availability": "la disponibilité",
        "budget": "le budget",
        "reputation": "la note et l'expérience",
    },
}


@dataclass(frozen=True, slots=True)
class Explanation:
    strongest: tuple[str, str]
    weakest: str | None
    en: str
    fr: str


def strongest_and_weakest(contributions: dict[str, float]) -> tuple[tuple[str, str], str | None]:
    """The two criteria adding the most points, and the one losing the most (None when nothing is lost).
    Ties go to the earlier criterion in ``CRITERIA``."""
    order = {c: i for i, c in enumerate(CRITERIA)}
    by_gain = sorted(CRITERIA, key=lambda c: (-contributions[c], order[c]))
    lost = {c: WEIGHTS[c] - contributions[c] for c in CRITERIA}
    weakest = min(CRITERIA, key=lambda c: (-lost[c], order[c]))
    return (by_gain[0], by_gain[1]), (weakest if lost[weakest] > 1e-9 else None)


def _amount(value: Decimal) -> str:
    return f"{value:,.0f}".replace(",", " ")


def explain(q: MatchQuery, d: DirectoryArrays, scores: DirectoryScores, row: int, rates: RatesTable) -> Explanation:
    """Why the expert of ``row`` scored what ``scores`` says for the query."""
    e = d.profiles[row]
    score, bonus, qualified = float(scores.score[row]), float(scores.bonus[row]), bool(scores.qualified[row])
    (first, second), weakest = strongest_and_weakest(scores.contributions(row))
    exact = sum(1 for skill in q.skills if skill in e.skills)
    rate = float(scores.rate[row])
    within = not np.isnan(rate) and rate <= q.budget_max
    price = f"{_amount(e.daily_rate)} {e.currency}"
    if e.currency != q.currency and not np.isnan(rate):
        converted = rates.convert(Money(amount=e.daily_rate, currency=e.currency), q.currency)
        price += f" (~{_amount(converted.amount)} {q.currency})"
    starts_in_time = scores.start_delay[row] <= 0
    when = e.available_from.isoformat()
    level_en = "Strong" if qualified else "Partial"
    level_fr = "Forte" if qualified else "Partielle"
    en_parts = [
        f"{level_en} fit ({score:.2f}): best on {LABELS['en'][first]} and {LABELS['en'][second]}",
        f"weakest on {LABELS['en'][weakest]}" if weakest else "no weak point",
    ]
    fr_parts = [
        f"Adéquation {level_fr.lower()} ({score:.2f}) : points forts {LABELS['fr'][first]} et {LABELS['fr'][second]}",
        f"point faible {LABELS['fr'][weakest]}" if weakest else "aucun point faible",
    ]
    en_parts.append(f"{exact}/{len(q.skills)} requested skills held")
    fr_parts.append(f"{exact}/{len(q.skills)} compétences demandées maîtrisées")
    en_parts.append(f"{price} per day, {'within' if within else 'above'} budget")
    fr_parts.append(f"{price} par jour, {'dans le' if within else 'au-dessus du'} budget")
    en_parts.append(
        f"available {'from the start date' if starts_in_time else 'from ' + when}, "
        f"{e.available_days_per_week} days a week"
    )
    fr_parts.append(
        f"disponible {'dès le démarrage' if starts_in_time else 'à partir du ' + when}, "
        f"{e.available_days_per_week} jours par semaine"
    )
    if e.ratings_count:
        en_parts.append(f"rated {e.rating:.1f}/5 over {e.completed_missions} missions")
        fr_parts.append(f"noté {e.rating:.1f}/5 sur {e.completed_missions} missions")
    else:
        en_parts.append("not rated yet")
        fr_parts.append("pas encore noté")
    en = "; ".join(en_parts)
    fr = "; ".join(fr_parts)
    if bonus > 0:
        en += f"; lifted by {bonus:.3f} for fair exposure (rarely shortlisted lately)"
        fr += f" ; relevé de {bonus:.3f} au titre de l'exposition équitable (peu présenté récemment)"
    return Explanation((first, second), weakest, en + ".", fr + ".")

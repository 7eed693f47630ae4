"""The mission contract: a PDF rendered from the locked terms (snapshot + SHA-256), in the mission language."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from documents.rendering import Renderer
from domain.documents import AmendmentRequest, ContractRequest
from domain.invoice import Party

CLAUSES = {
    "fr": [
        ("Confidentialité", "Les parties gardent confidentielles toutes les informations échangées pendant la "
         "mission et pendant cinq ans après son terme."),
        ("Propriété intellectuelle", "Les droits patrimoniaux sur les livrables sont cédés au client à compter du "
         "paiement intégral de chaque jalon ; l'expert conserve ses savoir-faire et outils préexistants."),
        ("Absence de commission", "La plateforme ne perçoit aucune commission sur ce contrat : la facture de "
         "l'expert au client porte le montant intégral convenu. Commission : 0,00."),
        ("Facturation", "Chaque jalon accepté donne lieu à une facture émise par la plateforme au nom et pour le "
         "compte de l'expert, en vertu du mandat de facturation accepté par celui-ci."),
        ("Droit applicable", "Le présent contrat est soumis au droit français ; tout litige relève des tribunaux "
         "compétents de Paris, après une tentative de résolution amiable."),
    ],
    "en": [
        ("Confidentiality", "The parties keep confidential all information exchanged during the mission and for "
         "five years after its end."),
        ("Intellectual property", "The economic rights in the deliverables pass to the client upon full payment "
         "of each milestone; the expert keeps pre-existing know-how and tools."),
        ("No commission", "The platform takes no commission on this contract: the expert's invoice to the client "
         "carries the full agreed amount. Commission: 0.00."),
        ("Invoicing", "Each accepted milestone is invoiced by the platform in the name and on behalf of the "
         "expert, under the billing mandate the expert accepted."),
        ("Governing law", "This contract is governed by French law; disputes go to the competent courts of Paris "
         "after an attempt at amicable resolution."),
    ],
}  # fmt: skip


def terms_snapshot(request: ContractRequest | AmendmentRequest) -> dict[str, object]:
    return request.model_dump(mode="json")


def terms_sha256(request: ContractRequest | AmendmentRequest) -> str:
    canonical = json.dumps(terms_snapshot(request), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_contract(
    renderer: Renderer, request: ContractRequest, *, client: Party, expert: Party, platform_name: str,
    issued_on: date,
) -> bytes:  # fmt: skip
    clauses = CLAUSES[request.language]
    if not request.confidential:
        clauses = clauses[1:]
    return renderer.pdf(
        "contract.html", language=request.language, title=request.mission_title, c=request, client=client,
        expert=expert, platform_name=platform_name, issued_on=issued_on, clauses=clauses,
        terms_sha256=terms_sha256(request),
    )  # fmt: skip


def render_amendment(
    renderer: Renderer, request: AmendmentRequest, *, client: Party, expert: Party, former: Party, platform_name: str,
    contract_sha256: str, issued_on: date,
) -> bytes:  # fmt: skip
    """A contract amendment: the milestones handed over from the `former` expert to the new `expert`, whom the
    client and the new expert sign (documents/templates/amendment.html)."""
    return renderer.pdf(
        "amendment.html", language=request.language, title=request.mission_title, a=request, client=client,
        expert=expert, former=former, platform_name=platform_name, issued_on=issued_on,
        rows=list(zip(request.numbers, request.milestones, strict=True)), contract_sha256=contract_sha256,
        terms_sha256=terms_sha256(request),
    )  # fmt: skip

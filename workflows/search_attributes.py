"""Search attributes every mission workflow upserts, so ops can find any mission from the Temporal UI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

MISSION_STAGE = SearchAttributeKey.for_keyword("MissionStage")
CLIENT_ORG = SearchAttributeKey.for_keyword("ClientOrg")
EXPERT_IDS = SearchAttributeKey.for_keyword_list("ExpertIds")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

ALL = (MISSION_STAGE, CLIENT_ORG, EXPERT_IDS, NEXT_DEADLINE)


class SearchAttributes:
    """Upserts the values that changed since the last upsert (each upsert is an event in the history). Off on the
    time-skipping test server, which knows no custom search attributes."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._upserted: dict[str, Any] = {}

    def upsert(self, stage: str, client_org: str, expert_ids: list[str], next_deadline: datetime | None) -> None:
        if not self._enabled:
            return
        values: list[tuple[str, Any, SearchAttributeUpdate[Any]]] = [
            ("stage", stage, MISSION_STAGE.value_set(stage)),
            ("client_org", client_org, CLIENT_ORG.value_set(client_org)),
            ("expert_ids", expert_ids, EXPERT_IDS.value_set(expert_ids)),
            (
                "next_deadline",
                next_deadline,
                NEXT_DEADLINE.value_set(next_deadline) if next_deadline else NEXT_DEADLINE.value_unset(),
            ),
        ]
        changed = [update for name, value, update in values if self._upserted.get(name) != value]
        self._upserted.update({name: value for name, value, _ in values})
        if changed:
            workflow.upsert_search_attributes(changed)


def cli_flags() -> list[str]:
    """`temporal server start-dev` flags registering the attributes."""
    kinds = {"KEYWORD": "Keyword", "KEYWORD_LIST": "KeywordList", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in ALL:
        flags += [
            "--search-attribute",
            f"{key.name}={kinds[key.indexed_value_type.name.removeprefix('INDEXED_VALUE_TYPE_')]}",
        ]
    return flags

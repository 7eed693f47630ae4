"""Search attributes every mission workflow upserts, so ops can find any mission from the Temporal UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

MISSION_STAGE = SearchAttributeKey.for_keyword("MissionStage")
CLIENT_ORG = SearchAttributeKey.for_keyword("ClientOrg")
EXPERT_IDS = SearchAttributeKey.for_keyword_list("ExpertIds")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")

ALL = (MISSION_STAGE, CLIENT_ORG, EXPERT_IDS, NEXT_DEADLINE)


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

"""The actions of `domain.actions` are the one list every door reads: each has its API route (and only one), the
portal can fill each of them from a form, and each inbox task names a route that exists."""

from __future__ import annotations

from api.app import create_app
from api.web.actions import FIELDS
from domain.actions import ACTIONS, form_hint


def _post_routes() -> dict[str, dict[str, object]]:
    """The API's POST operations by path, as its OpenAPI document publishes them."""
    paths = create_app().openapi()["paths"]
    return {path: operations["post"] for path, operations in paths.items() if "post" in operations}


def test_every_action_has_its_route() -> None:
    routes = _post_routes()
    for action in ACTIONS:
        route = routes.get(action.route())
        assert route is not None, f"{action.name}: no POST {action.route()}"
        if action.update != "submit_deliverable":  # an upload, whose route is written by hand
            assert route["summary"] == action.summary


def test_the_portal_can_fill_every_action_but_the_upload() -> None:
    missing = {a.name for a in ACTIONS if a.command not in FIELDS and a.update != "submit_deliverable"}
    assert not missing, f"no portal form reader for {sorted(missing)}"


def test_each_inbox_task_points_at_existing_routes() -> None:
    routes = _post_routes()
    kinds = {kind for a in ACTIONS for kind in a.completes}
    assert {"answer_invitation", "submit_proposal", "sign_contract", "review_deliverable", "repair"} <= kinds
    for kind in kinds:
        hint = form_hint(kind)
        assert hint.startswith("POST /")
        for path in hint.removeprefix("POST ").split(" | "):
            assert path in routes, f"task {kind}: {path} is not a route"
    assert form_hint("no_such_task") == ""

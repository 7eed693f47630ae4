"""The portal's router, to include in the API app together with its static files:

from api.web.routes import STATIC_DIR, router as web_router
app.include_router(web_router)
app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web import (
    pages_account,
    pages_auth,
    pages_directory,
    pages_expert,
    pages_members,
    pages_missions,
    pages_notices,
    pages_onboarding,
    pages_ops,
    pages_org,
    pages_public,
)
from api.web.core import STATIC_DIR, redirect

router = APIRouter(include_in_schema=False)
for _module in (
    pages_auth,
    pages_account,
    pages_notices,
    pages_missions,
    pages_expert,
    pages_directory,
    pages_ops,
    pages_members,
    pages_onboarding,
    pages_org,
    pages_public,
):
    router.include_router(_module.router)


@router.get("/")
def root(request: Request) -> Response:
    return redirect(request, "/portal")


__all__ = ["STATIC_DIR", "router"]

"""The development mailbox (`/dev/mailbox`): every e-mail the platform sent through the catcher `innot dev` starts
when no SMTP server is configured, so a newcomer sees what each party is told. Mounted in development only."""

from __future__ import annotations

import re
from email import message_from_binary_file, policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel

router = APIRouter(prefix="/dev", tags=["development"], include_in_schema=False)

LINK = re.compile(r"https?://\S+")
TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"


class Mail(BaseModel):
    to: str
    subject: str
    date: str
    language: str
    text: str
    links: list[str]


def read_mailbox(request: Request, to: str | None = None) -> list[Mail]:
    """The catcher's Maildir, newest first (optionally only the e-mails to one address)."""
    folder: Path = request.app.state.settings.dev_mailbox
    mails = []
    for path in [*folder.glob("new/*"), *folder.glob("cur/*")]:
        with path.open("rb") as file:
            email = message_from_binary_file(file, policy=policy.default)
        body = email.get_body(preferencelist=("plain",))
        text = str(body.get_content()) if body is not None else ""
        mail = Mail(
            to=str(email["To"] or ""),
            subject=str(email["Subject"] or ""),
            date=parsedate_to_datetime(str(email["Date"])).isoformat() if email["Date"] else "",
            language=str(email["Content-Language"] or ""),
            text=text,
            links=LINK.findall(text),
        )
        if to is None or to.lower() in mail.to.lower():
            mails.append(mail)
    return sorted(mails, key=lambda m: m.date, reverse=True)


@router.get("/mailbox.json", response_model=list[Mail])
def mailbox_json(request: Request, to: Annotated[str | None, Query()] = None) -> list[Mail]:
    return read_mailbox(request, to)


_PAGES = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


@router.get("/mailbox", response_class=HTMLResponse)
def mailbox_page(request: Request, to: Annotated[str | None, Query()] = None) -> HTMLResponse:
    everyone = read_mailbox(request)
    people = sorted({m.to for m in everyone})
    mails = everyone if to is None else [m for m in everyone if to.lower() in m.to.lower()]
    return HTMLResponse(_PAGES.get_template("dev_mailbox.html").render(mails=mails, people=people))

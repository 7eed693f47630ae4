"""E-mails about the account itself (verification link, password reset), sent by the API as the person asks for
them: they are not mission notices, and a person waiting for the link must not wait for a workflow.

The message comes from Jinja2 templates in the person's language; the mail server is the platform's
(`INNOT_SMTP_URL`). When it cannot be reached the caller decides: registration still succeeds (the person asks
for a new link later), an explicit resend answers 503.
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import structlog
from jinja2 import Environment, FileSystemLoader, select_autoescape

from activities.mail import MailRefused, SmtpServer
from api.web.i18n import N_, translations
from config.settings import Settings
from store.models.community import User

log = structlog.get_logger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "web" / "templates" / "email"
Kind = Literal["verify_email", "reset_password", "org_invitation"]
PAGES: dict[str, str] = {
    "verify_email": "/portal/verify-email",
    "reset_password": "/portal/reset-password",
    "org_invitation": "/portal/join",
}
_env = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), keep_trailing_newline=True
)


class Recipient(Protocol):
    """Whom an account e-mail goes to: an account, or a colleague invited to open one (store OrgInvitation)."""

    @property
    def full_name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def language(self) -> str: ...


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class MailUnavailable(Exception):
    """The e-mail could not be handed to a mail server."""


def mailer_of(settings: Settings) -> Mailer | None:
    return SmtpServer.from_url(settings.smtp_url) if settings.smtp_url else None


class Outbox:
    """Keeps a copy of every account e-mail the app sends (and hands it on to `inner`, the real server, if any):
    the demo and the test drivers read their links here, as a person reads their mailbox."""

    def __init__(self, inner: Mailer | None = None) -> None:
        self.inner = inner
        self.sent: list[EmailMessage] = []

    @classmethod
    def install(cls, app: Any) -> Outbox:
        """Put an outbox in front of the app's mail server."""
        outbox = cls(app.state.mailer)
        app.state.mailer = outbox
        return outbox

    def send(self, message: EmailMessage) -> None:
        if self.inner is not None:
            self.inner.send(message)
        self.sent.append(message)

    def link(self, address: str, kind: Kind) -> str:
        """The link of the latest e-mail of this kind to this address."""
        for message in reversed(self.sent):
            if address.lower() in str(message["To"]).lower():
                body = message.get_body(preferencelist=("plain",))
                text = str(body.get_content()) if body is not None else ""
                found = re.search(r"https?://\S*" + re.escape(PAGES[kind]) + r"\S*", text)
                if found:
                    return found.group(0)
        raise LookupError(f"no {kind} e-mail to {address}")


def link_to(settings: Settings, kind: Kind, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{PAGES[kind]}?token={token}"


# What each account e-mail says, by kind (English msgids: the catalogue has the translations).
MAIL_TEXTS: dict[str, dict[str, str]] = {
    "reset_password": {
        "subject": N_("Reset your innot password"),
        "intro": N_(
            "Someone asked to reset the password of your innot account. Choose a new one with the link below; every open session will be logged out."  # noqa: E501
        ),
        "action": N_("Choose a new password"),
        "expiry": N_("This link works once, for one hour."),
        "ignore": N_("If you did not ask for it, ignore this e-mail: your password stays as it is."),
    },
    "verify_email": {
        "subject": N_("Confirm your e-mail address"),
        "intro": N_(
            "Please confirm that this address is yours: until then you cannot post a need, accept an invitation or sign a contract."  # noqa: E501
        ),
        "action": N_("Confirm my address"),
        "expiry": N_("This link works once, for 48 hours."),
        "ignore": N_("If you did not create an innot account, ignore this e-mail."),
    },
    "org_invitation": {
        "subject": N_("A colleague invites you to innot"),
        "intro": N_(
            "A colleague invites you to join your organisation on innot, the private consulting marketplace. Choose your password with the link below to open your account."  # noqa: E501
        ),
        "action": N_("Join my organisation"),
        "expiry": N_("This link works once, for seven days."),
        "ignore": N_("If you do not know why you received it, ignore this e-mail: no account is opened."),
    },
}


def write(settings: Settings, user: User | Recipient, kind: Kind, link: str) -> EmailMessage:
    _ = translations(user.language).gettext
    context = {
        "name": user.full_name,
        "subject": _(MAIL_TEXTS[kind]["subject"]),
        "intro": _(MAIL_TEXTS[kind]["intro"]),
        "action": _(MAIL_TEXTS[kind]["action"]),
        "expiry": _(MAIL_TEXTS[kind]["expiry"]),
        "ignore": _(MAIL_TEXTS[kind]["ignore"]),
        "hello": _("Hello"),
        "tagline": _("Private consulting marketplace. Zero commission."),
        "link": link,
    }
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = formataddr((user.full_name, user.email))
    message["Subject"] = context["subject"]
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.mail_from)[1].rpartition("@")[2] or None)
    message["Date"] = formatdate(usegmt=True)
    message.set_content(_env.get_template("account.txt").render(context))
    message.add_alternative(_env.get_template("account.html").render(context), subtype="html")
    message["Content-Language"] = user.language  # after the parts: set_content drops Content-* headers
    return message


async def send_account_email(
    mailer: Mailer | None, settings: Settings, *, user: User | Recipient, kind: Kind, token: str
) -> None:
    """Write and send the e-mail carrying this link; MailUnavailable when no server took it."""
    if mailer is None:
        raise MailUnavailable("no mail server is configured (INNOT_SMTP_URL)")
    message = write(settings, user, kind, link_to(settings, kind, token))
    try:
        await anyio.to_thread.run_sync(mailer.send, message)
    except (OSError, smtplib.SMTPException, MailRefused) as exc:
        log.warning("account e-mail not sent", kind=kind, error=str(exc)[:200])
        raise MailUnavailable(str(exc)) from exc

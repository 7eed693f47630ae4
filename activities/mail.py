"""Sending e-mail over SMTP (the standard library's client), and writing notices as e-mails from Jinja2 templates
in the recipient's language (the platform's one gettext catalogue, config.i18n)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from config.i18n import translations
from domain.notices import render

TEMPLATES = Path(__file__).resolve().parent / "templates" / "email"
SMTP_TIMEOUT = 20.0


class MailRefused(Exception):
    """The server refused the message for good (a 5xx: unknown mailbox, refused sender): retrying cannot help."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # implicit TLS (smtps://); otherwise STARTTLS when the server offers it
    user: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("INNOT_SMTP_URL must look like smtp://user:password@host:587 or smtps://…:465")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 587),
            tls=tls,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; a temporary failure raises (the activity is retried), a permanent
        refusal raises MailRefused."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        with client:
            if not self.tls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
            if self.user:
                client.login(self.user, self.password or "")
            try:
                client.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                if all(500 <= code < 600 for code in codes):
                    raise MailRefused(str(exc.recipients)) from exc
                raise
            except smtplib.SMTPResponseException as exc:
                if 500 <= exc.smtp_code < 600:
                    raise MailRefused(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
                raise


@dataclass(frozen=True)
class Letter:
    """One notice written for one person."""

    to_name: str
    to_address: str
    language: str
    kind: str
    params: dict[str, str]
    link: str


class Writer:
    """Renders notices as e-mails (text and HTML parts) in the recipient's language."""

    def __init__(self, sender: str, gettext_for: Callable[[str], Callable[[str], str]] | None = None) -> None:
        self.sender = sender
        self._gettext_for = gettext_for or (lambda lang: translations(lang).gettext)
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), keep_trailing_newline=True
        )

    def message(self, letter: Letter, message_id: str) -> EmailMessage:
        _ = self._gettext_for(letter.language)
        subject, body = render(letter.kind, letter.params, letter.language, _)
        context: dict[str, Any] = {
            "_": _,
            "subject": subject,
            "body": body,
            "link": letter.link,
            "name": letter.to_name,
        }
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = formataddr((letter.to_name, letter.to_address))
        msg["Subject"] = subject
        msg["Message-ID"] = message_id
        msg["Date"] = formatdate(usegmt=True)
        msg.set_content(self._env.get_template("notice.txt").render(context))
        msg.add_alternative(self._env.get_template("notice.html").render(context), subtype="html")
        msg["Content-Language"] = letter.language  # after the parts: set_content drops Content-* headers
        return msg

    def digest(self, user: Any, notices: list[tuple[str, dict[str, str], str]], message_id: str) -> EmailMessage:
        """The daily digest: every notice the person chose to receive that way, each with its link."""
        _ = self._gettext_for(user.language)
        items = []
        for kind, params, link in notices:
            subject, body = render(kind, params, user.language, _)
            items.append({"subject": subject, "body": body, "link": link})
        subject = _("Your innot digest: {count} notice(s)").format(count=len(items))
        context: dict[str, Any] = {"_": _, "subject": subject, "items": items, "name": user.full_name}
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = formataddr((user.full_name, user.email))
        msg["Subject"] = subject
        msg["Message-ID"] = message_id
        msg["Date"] = formatdate(usegmt=True)
        msg.set_content(self._env.get_template("digest.txt").render(context))
        msg.add_alternative(self._env.get_template("digest.html").render(context), subtype="html")
        msg["Content-Language"] = user.language
        return msg

    def message_id(self, key: str) -> str:
        """The same Message-ID on every attempt for one notice and one person (a receiver can tell a repeat)."""
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "innot.invalid"
        return f"<{key}@{domain}>"

"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what arrives, or refuses on purpose."""

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import free_port


@dataclass
class Mailbox:
    """What the server received; `refuse` (like "451 try later") answers every RCPT with it."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse is not None:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted"

    def take(self) -> list[EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=none"


@contextmanager
def running_smtp() -> Iterator[SmtpServer]:
    """The server, stopped afterwards."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server

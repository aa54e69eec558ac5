"""Every spec test runs with the network cut: `validate` must never open a connection."""

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make any connection attempt fail loudly, so a test that reaches the network fails."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("realmctl validate tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield

"""The HTTP layer under bad or hostile clients (issue #18 item 6), checked like Keycloak answers.

Each test speaks raw HTTP over a socket, since well-behaved clients cannot send a bad
Content-Length. The status codes and limits are the ones Keycloak 26.7.3 answers with (measured:
body over 10 MiB → 413, request target over 32 KiB → 414, headers over 64 KiB → 431, bad
Content-Length → 400, each with an empty body and the connection closed).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from realmctl.sandbox import Sandbox
from tests.conftest import KeycloakTarget

TEN_MIB = 10 * 1024 * 1024


def connect(url: str, timeout: float = 10.0) -> tuple[socket.socket, str]:
    """A socket to the server of `url` and the URL's path prefix (a context path, or '')."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
    return sock, parts.path.rstrip("/")


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of one answer (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed without an answer after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body[:length]


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def ask(url: str, raw: bytes) -> tuple[int, dict[str, str], bytes, socket.socket]:
    sock, prefix = connect(url)
    sock.sendall(raw.replace(b"{prefix}", prefix.encode()))
    return (*read_answer(sock), sock)


@pytest.mark.parametrize("length", ["-1", "abc"])
def test_a_bad_content_length_is_400_and_closes(keycloak: KeycloakTarget, length: str) -> None:
    raw = f"POST {{prefix}}/admin/realms HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{{}}"
    status, _, body, sock = ask(keycloak.url, raw.encode())
    assert (status, body) == (400, b"")
    assert closed_by_server(sock)
    sock.close()


def test_an_unauthenticated_body_is_refused_before_it_is_sent(keycloak: KeycloakTarget) -> None:
    """Keycloak answers 401 on the headers alone: the 5 MB it was promised never has to arrive."""
    raw = b"POST {prefix}/admin/realms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: 5000000\r\n\r\n{"
    started = time.monotonic()
    status, _, body, sock = ask(keycloak.url, raw)
    assert (status, json.loads(body)) == (401, {"error": "HTTP 401 Unauthorized"})
    assert time.monotonic() - started < 5
    sock.close()


def test_a_refused_body_that_is_sent_leaves_the_connection_usable(keycloak: KeycloakTarget) -> None:
    body = b'{"realm": "x"}' + b" " * 200_000
    raw = b"POST {prefix}/admin/realms HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: %d\r\n\r\n" % len(body) + body
    status, _, _, sock = ask(keycloak.url, raw)
    assert status == 401
    sock.sendall(b"GET %s/realms/master/.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n" % b"")
    assert read_answer(sock)[0] == 200
    sock.close()


@pytest.mark.parametrize("authenticated", [False, True])
def test_a_body_over_10_mib_is_413_before_any_of_it_is_read(keycloak: KeycloakTarget, authenticated: bool) -> None:
    auth = b"Authorization: Bearer x.y.z\r\n" if authenticated else b""
    raw = b"POST {prefix}/admin/realms HTTP/1.1\r\nHost: x\r\n" + auth
    status, _, body, sock = ask(keycloak.url, raw + b"Content-Length: %d\r\n\r\n{" % (TEN_MIB + 1))
    assert (status, body) == (413, b"")
    assert closed_by_server(sock)
    sock.close()
    status, _, _, sock = ask(keycloak.url, raw + b"Content-Length: %d\r\n\r\n{" % TEN_MIB)
    assert status == 401  # exactly 10 MiB is allowed through to authentication
    sock.close()


def test_a_request_target_over_32_kib_is_414(keycloak: KeycloakTarget) -> None:
    query = b"a" * 40_000
    status, _, body, sock = ask(keycloak.url, b"GET {prefix}/realms/master?x=%s HTTP/1.1\r\nHost: x\r\n\r\n" % query)
    assert (status, body) == (414, b"")
    sock.close()


def test_headers_over_64_kib_in_total_are_431(keycloak: KeycloakTarget) -> None:
    """Three 30 KB headers: each is under Python's per-line limit, together over Keycloak's 64 KiB."""
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 30_000) for i in range(3))
    status, _, body, sock = ask(keycloak.url, b"GET {prefix}/realms/master HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert (status, body) == (431, b"")
    sock.close()


@pytest.mark.sandbox_only
def test_slow_and_silent_clients_do_not_hold_a_thread() -> None:
    """A client trickling one byte every 0.3 s is cut at the read deadline, not kept forever, and
    a silent kept-alive connection is closed after the idle timeout (both 0.5 s here: the test
    needs them to fire, not to be long)."""
    with Sandbox() as sb:
        sb.app.read_timeout = 0.5
        sb.app.idle_timeout = 0.5
        trickler, _ = connect(sb.url)
        started = time.monotonic()
        closed = False
        for byte in b"GET /realms/master HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                trickler.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.3)
            if time.monotonic() - started > 6:
                break
        closed = closed or closed_by_server(trickler)
        assert closed and time.monotonic() - started < 6
        silent, _ = connect(sb.url)
        started = time.monotonic()
        assert closed_by_server(silent)
        assert time.monotonic() - started < 5


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.sandbox_only
def test_an_unauthenticated_300_mb_post_is_not_read_into_memory() -> None:
    """The issue's reproduction: on the old sandbox the process grew by the body's size (58 → 366 MB)."""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.01)

    with Sandbox() as sb:
        before = rss_bytes()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        sock, _ = connect(sb.url, timeout=60)
        size = 300 * 1024 * 1024
        sock.sendall(b"POST /admin/realms HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"a" * (1024 * 1024)
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(chunk)
        except OSError:
            pass  # the sandbox stopped reading: what it should do
        sock.close()
        time.sleep(0.3)
        done.set()
        sampler.join()
        grown = (peak[0] - before) / 1e6
        assert grown < 50, f"RSS grew by {grown:.0f} MB ({before / 1e6:.0f} → {peak[0] / 1e6:.0f} MB)"

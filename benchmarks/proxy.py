"""A counting loopback proxy in front of a real Keycloak, for the benchmark's real-server runs.

A real server has no request log to read back (the sandbox's `/sandbox/requests`), so the runner
puts this proxy between the measured tool and Keycloak and counts what passes through it: one
entry per request, by method and path template. Both tools (realmctl and the Ansible peer) talk to
the proxy, so both are counted the same way, and the proxy's own cost (a few hundred microseconds
per request, in the runner's process) is the same for both.

It forwards each request as it came (method, path, query, body, headers but the hop-by-hop ones)
over one persistent upstream connection per proxy thread, and answers with a Content-Length so
that clients keep their connections alive. Test infrastructure, not realmctl: it never imports it.
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def template(path: str) -> str:
    """The path with the realm, ids and role names replaced, as the sandbox's log shows them."""
    parts = path.split("?", 1)[0].split("/")
    out = []
    for i, part in enumerate(parts):
        before = parts[i - 1] if i else ""
        if _UUID.match(part):
            out.append("{id}")
        elif before == "realms":
            out.append("{realm}")
        elif before == "roles" and part:
            out.append("{role}")
        elif before == "instances" and part:
            out.append("{alias}")
        else:
            out.append(part)
    return "/".join(out)


class CountingProxy:
    """`with CountingProxy(upstream) as proxy:` serves on `proxy.url`; `proxy.take()` drains the log."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="counting-proxy", daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def take(self) -> list[dict[str, Any]]:
        """The entries logged since the last take (method, path template, status), and clears them."""
        with self.lock:
            out, self.log = self.log, []
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream: http.client.HTTPConnection | None = None

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Host"] = f"{proxy.host}:{proxy.port}"
                for attempt in (0, 1):  # a kept-alive upstream connection may have been closed meanwhile
                    if self.upstream is None:
                        self.upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=300)
                    try:
                        self.upstream.request(self.command, self.path, body=body, headers=headers)
                        answer = self.upstream.getresponse()
                        data = answer.read()
                        break
                    except (http.client.HTTPException, OSError):
                        self.upstream.close()
                        self.upstream = None
                        if attempt:
                            raise
                with proxy.lock:
                    proxy.log.append({"method": self.command, "path": template(self.path), "status": answer.status})
                self.send_response_only(answer.status, answer.reason)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _forward

        return Handler

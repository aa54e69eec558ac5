"""The two error body shapes Keycloak answers with (SEMANTICS §0.2), as one exception type.

Handlers raise; the HTTP layer turns the exception into the response, so an error never leaks as
a traceback or as a shape Keycloak would not produce.
"""

from typing import Any


class HttpError(Exception):
    """An HTTP answer other than success: status, JSON body (or None) and extra headers."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(status: int, message: str) -> HttpError:
    """OAuth2ErrorRepresentation as the exception mapper writes it: `{"error": message}`."""
    return HttpError(status, {"error": message})


def error_message(status: int, message: str) -> HttpError:
    """ErrorRepresentation (`ErrorResponse.error`): `{"errorMessage": message}`."""
    return HttpError(status, {"errorMessage": message})


def exists(message: str) -> HttpError:
    """`ErrorResponse.exists`: always 409 with an ErrorRepresentation."""
    return HttpError(409, {"errorMessage": message})


NOT_FOUND = "HTTP 404 Not Found"
UNAUTHORIZED = "HTTP 401 Unauthorized"
FORBIDDEN = "HTTP 403 Forbidden"

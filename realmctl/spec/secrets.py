"""Which spec values are secret, and the mark they carry through compile and diff.

A value is secret when its key says so (`secret`, `initialPassword`, `config.clientSecret`, an
attribute `apiPassword`, a near miss such as `clientSecrte`), or when it came from `${env:}` or
`${file:}`: the environment and files are where pipelines keep credentials, and a spec is often
written by someone who may not read them (a pull request whose plan is posted as a comment). An
interpolated value is shown only when its field is known not to hold a secret *and* every source
it names is on the spec's `public:` allow-list.

Secret strings are wrapped in `Secret`, a `str` that compares and serialises as its value, so
that the masking pass over the plan recognises them by their origin, not by looking alike.
"""

import difflib
from functools import cache
from typing import Any

from realmctl.spec.model import Path

_SENSITIVE_WORDS = ("secret", "password")
#: Sections whose entries are objects named by their key: a key there is a name, not a field.
_NAMED = {"identityProviders", "clientScopes", "clients", "users", "tokenExchange", "mappers", "roles"}
#: Subtrees whose keys and values are names of other objects (role names, clientIds, groups).
_NAME_SUBTREES = {"roleScope", "roleGrants", "clientRoles", "groups", "defaultClientScopes", "optionalClientScopes"}
#: Raw maps passed to Keycloak as they are: realmctl cannot know what their keys hold.
_RAW = {"attributes", "extra"}
#: Identity-provider config keys documented as plain settings (docs/spec.md), never credentials.
IDP_PUBLIC_CONFIG = frozenset(
    {
        "clientId",
        "clientAuthMethod",
        "issuer",
        "authorizationUrl",
        "tokenUrl",
        "userInfoUrl",
        "logoutUrl",
        "jwksUrl",
        "useJwksUrl",
        "validateSignature",
        "defaultScope",
        "syncMode",
        "pkceEnabled",
    }
)


class Secret(str):
    """A secret string from the spec; behaves as `str` everywhere except that masking sees it."""

    __slots__ = ()

    def lower(self) -> "Secret":  # e-mail addresses are lowered on the way to Keycloak
        return Secret(super().lower())


@cache  # keys repeat (every user's `email`); the near-miss search is the costly part of a load
def looks_secret(key: str) -> bool:
    """A key named like a secret, or a near miss of one (`clientSecrte`): a typo must not make a
    secret printable."""
    lowered = key.lower()
    if any(w in lowered for w in _SENSITIVE_WORDS):
        return True
    return bool(difflib.get_close_matches(lowered, ["clientsecret", "secret", "password"], n=1, cutoff=0.8))


def _field_keys(path: Path) -> list[str]:
    """The keys on `path` that are field names, leaving out realm and object names."""
    out: list[str] = []
    for i, part in enumerate(path):
        if not isinstance(part, str) or i < 2:
            continue
        if path[i - 1] in _NAMED and (i == 3 or path[i - 1] == "mappers"):
            continue  # an object's name, e.g. a client called `secret-store`
        out.append(part)
    return out


def secret_by_name(path: Path) -> bool:
    """Whether the value at `path` is secret because of the key it is written under."""
    keys = _field_keys(path)
    if not keys or any(k in _NAME_SUBTREES for k in keys):
        return False
    return looks_secret(keys[-1])


def shown_as_name(path: Path) -> bool:
    """Whether the value at `path` names an object (or builds one's name or URL): such a value is
    printed as an object's label in every plan, so it cannot be masked and must be public."""
    keys = _field_keys(path)
    if not keys:
        return False
    if keys[0] == "tokenExchange" or (len(path) > 2 and path[2] == "tokenExchange"):
        return True
    if any(k in _NAME_SUBTREES for k in keys):
        return True
    if keys[-1] == "roles" and isinstance(path[-1], int):
        return True
    return "mappers" in path and keys[-1] == "client"


def known_public(path: Path) -> bool:
    """Whether the field at `path` is one realmctl knows never holds a secret (a URL, a flag, a
    display name). Raw maps (`attributes`, `extra`, mapper `config`) are never known."""
    keys = _field_keys(path)
    if not keys or secret_by_name(path) or any(k in _RAW for k in keys):
        return False
    if "config" in keys:
        idp_config = len(path) == 6 and path[2] == "identityProviders" and path[4] == "config"
        return idp_config and path[5] in IDP_PUBLIC_CONFIG
    return keys[-1] not in ("claimValue", "consentScreenText")


def public_sources(data: Any) -> set[str]:
    """The `public:` allow-list of one file as sources (`env:NAME`, `file:path`)."""
    public = data.get("public") if isinstance(data, dict) else None
    if not isinstance(public, dict):
        return set()
    out = {f"env:{n}" for n in public.get("env") or [] if isinstance(n, str)}
    return out | {f"file:{n}" for n in public.get("files") or [] if isinstance(n, str)}


def spec_leaves(data: Any, path: Path = ()) -> list[tuple[Path, Any]]:
    """Every scalar of `data` with its path (lists and maps walked)."""
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in spec_leaves(v, (*path, k))]
    if isinstance(data, list):
        return [leaf for i, v in enumerate(data) for leaf in spec_leaves(v, (*path, i))]
    return [(path, data)]


def redact(text: str, values: set[str], shortest: int = 6) -> str:
    """Free text (a check finding quoting what the server holds) with every occurrence of a
    secret of the spec replaced. Fields are masked whole by the plan; this is the net for prose,
    where a value can only be cut out. Short values are left: they would cut words apart."""
    for value in sorted((v for v in values if len(v) >= shortest), key=len, reverse=True):
        text = text.replace(value, "(sensitive)")
    return text

"""Words for places in the spec: `identity provider `azure``, not `realms.apps.identityProviders.azure`.

Every finding names the object it is about the way a user thinks of it; this is the one place that
knows how spec paths map to those words.
"""

from realmctl.spec.model import Path

#: Sections whose keys (or list indexes) name objects, and what one such object is called.
SECTIONS: dict[str, str] = {
    "identityProviders": "identity provider",
    "clientScopes": "client scope",
    "clients": "client",
    "users": "user",
    "tokenExchange": "exchange policy",
    "storedTokens": "stored-token entry",
    "roleGrants": "role grant",
    "mappers": "mapper",
    "roles": "role",
}


def _name(part: str | int) -> str:
    return f"#{part + 1}" if isinstance(part, int) else f"`{part}`"


def owner(path: Path) -> tuple[str, Path]:
    """The innermost named object on `path`, in words, and the rest of the path below it."""
    if len(path) < 2 or path[0] != "realms":
        return "the top level", path
    desc = f"realm `{path[1]}`"
    i = 2
    while i + 1 < len(path) and isinstance(path[i], str) and path[i] in SECTIONS:
        label = SECTIONS[str(path[i])]
        nested = path[i] == "mappers"
        desc = f"{label} {_name(path[i + 1])}" + (f" of {desc}" if nested else "")
        i += 2
    return desc, path[i:]


def subject(path: Path) -> str:
    """What a finding at `path` is about, e.g. "`storeToken` in identity provider `azure`"."""
    if not path:
        return "the spec"
    desc, rest = owner(path)
    if not rest:
        return desc
    last = rest[-1]
    if isinstance(last, int):
        holder = next((p for p in reversed(rest) if isinstance(p, str)), None)
        thing = f"item {last + 1} of `{holder}`" if holder else f"item {last + 1}"
    else:
        thing = f"`{last}`"
    inner = [p for p in rest[:-1] if isinstance(p, str)]
    if inner and not isinstance(last, int):
        return f"{thing} in `{inner[-1]}` of {desc}"
    return f"{thing} in {desc}" if desc != "the top level" else thing


def container(path: Path) -> str:
    """Where a key at `path` (a mapping) sits, e.g. "`config` of identity provider `azure`"."""
    desc, rest = owner(path)
    names = [p for p in rest if isinstance(p, str)]
    if not names:
        return desc
    return f"`{names[-1]}`" if desc == "the top level" else f"`{names[-1]}` of {desc}"

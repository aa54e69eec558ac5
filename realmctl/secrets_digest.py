"""One digest of a realm's identity-provider secrets, so that a plan where none changed costs one
scrypt per realm instead of one per secret.

Keycloak masks an IdP's secret, so realmctl compares it through the fingerprint it stored beside it
(realmctl.fingerprint: scrypt, ~50-100 ms and 16 MiB by design). With 100 IdPs that was 5 s of
every plan. Beside those fingerprints realmctl keeps, per realm and spec owner, the realm attribute
`realmctl.fingerprint.idp-secrets` (`...idp-secrets.<owner>` for a named owner): a fingerprint, with
its own random salt and the same scrypt cost, of the sorted list of (IdP alias, config key, the
fingerprint stored beside that secret, the secret) for every secret the spec declares there.

* **Checking** (diff, before comparing the IdPs): when the digest matches the spec's secrets and
  the fingerprints as read, every per-IdP fingerprint is the one written together with it, and
  every secret is the one it was computed from, so each per-IdP check would match; they are
  recorded as matching (`realmctl.fingerprint.prove`) and cost nothing. Otherwise (a secret
  changed, an IdP added or removed, a fingerprint edited by hand, no digest yet) nothing is
  proved and the per-IdP checks run as before. Either way the plan is the same: the digest only
  saves CPU. It binds no value that the per-IdP fingerprints do not already bind, costs a guesser
  the same per guess, and has its own salt: it tells no one which IdPs share a secret.
* **Writing** is a bookkeeping write, shown in the plan as a field of the realm's ownership-record
  change and sent in the same realm PUT: in an apply that sends an IdP secret (a create, a changed
  secret, `--resend-secrets`) or deletes an IdP that holds a fingerprint. The digest is computed
  when the record is written, over the fingerprints the IdP calls sent (`Fingerprint.sets`) and
  those kept; it is left as it was when a change sending one of them was not applied, and removed
  when no declared secret is left. Whether to write depends only on the plan's changes (and on
  whether the realm holds a digest), never on whether the digest matched, so a plan from a saved
  snapshot (where a source client's secret is sealed and the digest cannot be checked) is the
  plan the server would give.
* **Upgrade**: a realm applied by an earlier version has no digest. Its plans check per IdP, as
  before, and show no change for it; the digest is written with the next apply that sends a
  secret there (`apply --resend-secrets` forces one). A second apply writes nothing.
"""

import json
from collections.abc import Iterable
from typing import Any

from realmctl.calls import DigestItem, DigestWrite, Fingerprint, Ref
from realmctl.fingerprint import Sealed, fingerprint, matches, prove
from realmctl.plan import Change, Live, Resource
from realmctl.spec.model import DEFAULT_OWNER

#: The realm attribute holding the default owner's digest (a named owner's adds `.<owner>`). Under
#: the fingerprints' prefix: a saved snapshot keeps it (realmctl.saved), as it keeps theirs.
ATTRIBUTE = "realmctl.fingerprint.idp-secrets"
KIND = "identity-provider"
_TAG = "realmctl.idp-secrets/1"


def attribute(owner: str) -> str:
    """The realm attribute of `owner`'s digest: two specs of one realm declare different IdPs."""
    return ATTRIBUTE if owner == DEFAULT_OWNER else f"{ATTRIBUTE}.{owner}"


def message(items: Iterable[tuple[str, str, str, str]]) -> str:
    """The canonical text the digest is computed over: (alias, key, stored fingerprint, secret)
    sorted, as compact JSON under a version tag. Never printed, logged or stored."""
    rows = sorted([str(a), str(k), str(s), str(v)] for a, k, s, v in items)
    return json.dumps([_TAG, rows], separators=(",", ":"), ensure_ascii=False)


def make(items: list[tuple[str, str, str, str]]) -> str:
    """A new digest of `items` (a fresh random salt, the fingerprints' scrypt cost)."""
    return fingerprint(message(items))


def stored(realm_rep: dict[str, Any] | None, owner: str) -> str | None:
    """The digest the realm holds for `owner` (None: none)."""
    value = ((realm_rep or {}).get("attributes") or {}).get(attribute(owner))
    return value if isinstance(value, str) and value else None


def _declared(wanted: Iterable[Resource], lives: Iterable[Live]) -> list[tuple[str, str, str | None, Any]]:
    """(alias, key, stored fingerprint or None, declared secret) for every secret the spec declares."""
    by_key = {live.key: live for live in lives}
    out = []
    for resource in wanted:
        live = by_key.get(resource.key)
        for key, value in resource.secrets.items():
            out.append((resource.key[0], key, live.secrets.get(key) if live else None, value))
    return out


def check(realm_rep: dict[str, Any] | None, owner: str, wanted: Iterable[Resource], lives: Iterable[Live]) -> bool:
    """Whether the realm's digest proves every per-IdP check of the spec's secrets; if so they are
    recorded as matching (one scrypt instead of one per secret). False, proving nothing, where it
    cannot tell: no digest, a secret without a fingerprint, or a sealed secret (a saved snapshot
    holds a source client's secret only as a fingerprint, see realmctl.saved)."""
    items = _declared(wanted, lives)
    digest = stored(realm_rep, owner)
    if not items or digest is None:
        return False
    pairs = []
    for alias, key, fp, value in items:
        if fp is None or not isinstance(value, str) or isinstance(value, Sealed):
            return False
        pairs.append((alias, key, fp, value))
    if not matches(message(pairs), digest):
        return False
    prove([(value, fp) for _, _, fp, value in pairs])
    return True


def _sent(value: Any) -> Iterable[Fingerprint]:
    """The fingerprints a call body sends (placeholders computed when it is sent)."""
    if isinstance(value, Fingerprint):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _sent(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _sent(item)


def write(
    realm_rep: dict[str, Any] | None,
    owner: str,
    changes: list[Change],
    wanted: Iterable[Resource],
    lives: Iterable[Live],
) -> DigestWrite | None:
    """The digest write of one realm's plan (`changes` are the realm's), or None when the plan
    neither sends an IdP secret nor deletes an IdP holding a fingerprint (or leaves no secret
    where there is no digest to remove). Secrets sent are bound with the fingerprint sent beside
    them (a `Ref` the executor fills); the others with the one read, which the plan found matching
    (or it would send the secret)."""
    sent: dict[tuple[str, str], DigestItem] = {}
    deletes = False
    for change in changes:
        if change.kind != KIND:
            continue
        if change.action == "delete":
            deletes = deletes or bool(change.live and any(change.live.secrets.values()))
            continue
        for call in change.calls:
            for made in _sent(call.body):
                if made.sets is not None:
                    alias, key = made.sets[-2], made.sets[-1]
                    sent[(alias, key)] = DigestItem(alias, key, Ref(made.sets), made.value, change.id)
    if not sent and not deletes:
        return None
    items = []
    for alias, key, fp, value in _declared(wanted, lives):
        if (alias, key) in sent:
            items.append(sent.pop((alias, key)))
        elif fp is None:
            return None  # not sent, yet no fingerprint: never so (compare sends it); bind nothing
        else:
            items.append(DigestItem(alias, key, fp, value))
    items += sent.values()  # sent without being declared: an exchange IdP's source secret, read in this run
    if not items and stored(realm_rep, owner) is None:
        return None
    return DigestWrite(attribute(owner), sorted(items, key=lambda i: (i.alias, i.key)))


def fingerprint_name(realm: str, alias: str, key: str) -> tuple[str, ...]:
    """Where the executor files the fingerprint sent beside an IdP's secret (`Fingerprint.sets`)."""
    return ("fingerprint", realm, alias, key)


__all__ = ["ATTRIBUTE", "attribute", "check", "fingerprint_name", "make", "message", "stored", "write"]

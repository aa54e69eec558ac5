"""The registry of resource kinds, one module each (see realmctl/kinds/base.py on adding one)."""

from collections.abc import Iterator
from contextlib import contextmanager

from realmctl.kinds.base import Kind
from realmctl.kinds.client import ClientKind
from realmctl.kinds.client_access import ClientAccessKind
from realmctl.kinds.client_scope import ClientScopeKind
from realmctl.kinds.client_scope_link import ClientScopeLinkKind
from realmctl.kinds.exchange import ExchangeAttachKind, ExchangePolicyKind, ExchangeReads, FgapKind
from realmctl.kinds.federated_link import FederatedLinkKind
from realmctl.kinds.group import GroupKind
from realmctl.kinds.idp import IdpKind
from realmctl.kinds.idp_mapper import IdpMapperKind, IdpMapperReads
from realmctl.kinds.mapper import MapperKind
from realmctl.kinds.membership import MembershipKind, MembershipReads
from realmctl.kinds.realm import RealmKind
from realmctl.kinds.realm_default_scope import RealmDefaultScopeKind, RealmDefaultScopeReads
from realmctl.kinds.record import RecordKind
from realmctl.kinds.role import RoleKind
from realmctl.kinds.role_grant import RoleGrantKind, RoleGrantReads
from realmctl.kinds.scope_mapping import ScopeMappingKind, ScopeMappingReads
from realmctl.kinds.user import UserKind, UserReads
from realmctl.kinds.user_profile import UserProfileKind

#: Every kind realmctl knows. The list's order only breaks ties: creates and updates run in the
#: topological order of the kinds' `depends_on` (deletes in reverse), see `dependency_order`.
REGISTERED: list[Kind] = [
    RealmKind(),
    GroupKind(),
    ClientScopeKind(),
    MapperKind(),
    RealmDefaultScopeKind(),
    ClientKind(),
    RoleKind(),
    ClientScopeLinkKind(),
    ScopeMappingKind(),
    IdpKind(),
    IdpMapperKind(),
    UserProfileKind(),
    UserKind(),
    MembershipKind(),
    RoleGrantKind(),
    FgapKind(),
    ExchangePolicyKind(),
    ExchangeAttachKind(),
    ClientAccessKind(),
    FederatedLinkKind(),
]
#: The ownership record's write comes after everything whose entries it holds.
RecordKind.depends_on = tuple(k.name for k in REGISTERED)
REGISTERED.append(RecordKind())


def dependency_order(kinds: list[Kind]) -> list[Kind]:
    """`kinds` sorted so that each comes after every kind it depends on; among kinds free to go,
    the earlier registered first (a stable, readable plan order). A dependency on an unknown kind
    or a cycle is a programming error, raised at import."""
    by_name = {k.name: k for k in kinds}
    for kind in kinds:
        unknown = [d for d in kind.depends_on if d not in by_name]
        if unknown:
            raise ValueError(f"kind {kind.name} depends on unknown kind(s) {', '.join(unknown)}")
    done: list[Kind] = []
    placed: set[str] = set()
    while len(done) < len(kinds):
        ready = next((k for k in kinds if k.name not in placed and set(k.depends_on) <= placed), None)
        if ready is None:
            stuck = sorted(k.name for k in kinds if k.name not in placed)
            raise ValueError(f"kinds depend on each other in a cycle: {', '.join(stuck)}")
        done.append(ready)
        placed.add(ready.name)
    return done


KINDS: list[Kind] = dependency_order(REGISTERED)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
RANK: dict[str, int] = {k.name: i for i, k in enumerate(KINDS)}


class RealmState(
    ExchangeReads, RoleGrantReads, ScopeMappingReads, MembershipReads, IdpMapperReads, UserReads, RealmDefaultScopeReads
):
    """One realm's reader: the shared machinery of `Reader` (realmctl/live.py) with the bulk reads
    each kind declares in its own file (its `reads` class). Gather, diff (building calls) and check
    rules ask it, never the executor; each list is fetched at most once per run."""


def missing_reads(kinds: list[Kind]) -> list[str]:
    """Kinds whose `reads` `RealmState` lacks (a programming error: add the class to its bases)."""
    return [k.name for k in kinds if not issubclass(RealmState, k.reads)]


if missing_reads(KINDS):
    raise ValueError(f"RealmState lacks the reads of kind(s) {', '.join(missing_reads(KINDS))}")


@contextmanager
def registered(*kinds: Kind) -> Iterator[None]:
    """The registry with `kinds` added, for the duration (a test's own kind): `REGISTERED`,
    `KINDS`, `BY_NAME` and `RANK` change in place, so every module that imported them sees the
    kind, and are restored afterwards. A kind added so reads through `RealmState`'s shared
    single-flight (`_once`) in its own file: its `reads` must already be part of `RealmState`."""
    saved = list(REGISTERED)
    REGISTERED.extend(kinds)
    try:
        _rebuild()
        yield
    finally:
        REGISTERED[:] = saved
        _rebuild()


def _rebuild() -> None:
    ordered = dependency_order(REGISTERED)
    if missing_reads(ordered):
        raise ValueError(f"RealmState lacks the reads of kind(s) {', '.join(missing_reads(ordered))}")
    KINDS[:] = ordered
    BY_NAME.clear()
    BY_NAME.update((k.name, k) for k in ordered)
    RANK.clear()
    RANK.update((k.name, i) for i, k in enumerate(ordered))

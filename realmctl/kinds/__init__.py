"""The registry of resource kinds, one module each (see realmctl/kinds/base.py on adding one)."""

from realmctl.kinds.base import Kind
from realmctl.kinds.client import ClientKind
from realmctl.kinds.client_access import ClientAccessKind
from realmctl.kinds.client_scope import ClientScopeKind
from realmctl.kinds.client_scope_link import ClientScopeLinkKind
from realmctl.kinds.exchange import ExchangeAttachKind, ExchangePolicyKind, FgapKind
from realmctl.kinds.federated_link import FederatedLinkKind
from realmctl.kinds.group import GroupKind
from realmctl.kinds.idp import IdpKind
from realmctl.kinds.idp_mapper import IdpMapperKind
from realmctl.kinds.mapper import MapperKind
from realmctl.kinds.membership import MembershipKind
from realmctl.kinds.realm import RealmKind
from realmctl.kinds.realm_default_scope import RealmDefaultScopeKind
from realmctl.kinds.record import RecordKind
from realmctl.kinds.role import RoleKind
from realmctl.kinds.role_grant import RoleGrantKind
from realmctl.kinds.scope_mapping import ScopeMappingKind
from realmctl.kinds.user import UserKind

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

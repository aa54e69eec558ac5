"""Resource kinds, one module each, in the order their creates and updates run."""

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
from realmctl.kinds.role import RoleKind
from realmctl.kinds.role_grant import RoleGrantKind
from realmctl.kinds.scope_mapping import ScopeMappingKind
from realmctl.kinds.user import UserKind

KINDS: list[Kind] = sorted(
    [
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
    ],
    key=lambda k: k.order,
)
BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}

"""What every resource kind provides, and the shared behaviour of link kinds.

A kind knows, in its own file: its natural key, how to compile its part of the spec into desired
resources (with its field table, e.g. `client.FIELDS`, which its export reads back), its bulk
reads (a `Reader` subclass, e.g. `ClientReads`) and how it turns them into live objects, how to
compare them, the calls that create, update and delete one object (built from the snapshot),
which objects are Keycloak's own, which kinds must be applied before it, what its changes do to
the state `check` reasons over, and its export inverse.

Adding a kind (e.g. a Keycloak 26.6+ client attribute set, or JWT-grant IdP settings):

1. Write `realmctl/kinds/<name>.py` with a subclass of `Kind` (or `LinkKind` for a link between
   two objects, owned through realmctl's record): set `name` (stable, shown in plans and plan
   files), `title`, and `depends_on` (the names of kinds whose creates must run first, e.g.
   `("client",)`); implement `desired` (spec -> `Resource`s, fields in Keycloak's representation,
   secrets apart), `read` (live objects for the wanted keys plus owned ones, through `ctx.state`),
   `calls` (the requests of one change,
   built from the snapshot: ids of objects this run creates are `Ref`s, see realmctl/calls.py; a
   recorded kind also `record_ids`). A read no other kind has is made in the kind's file through the
   reader's single-flight cache (`state._once(key, fetch)`, as `FederatedLinkKind._links`), or, when
   other kinds or `check` rules ask for it too, as a method of a `Reader` subclass named in
   `reads`. Gather makes every read: `desired` and `calls` run with the readers detached, so a
   read `desired` consults is made in `prepare`, and one a link's calls consult beyond `read`
   in `read_for_calls` (else the plan fails with `UndeclaredRead`, naming the read).
   Override `compare`, `secret_path`, `describe`, `builtin` (objects never deleted),
   `simulate` (only if a `check` rule reads what the kind changes) and `export` with `export_as` /
   `export_section` (the `realmctl export` inverse of `desired`) when the defaults do not fit.
2. Register an instance in `REGISTERED` in `realmctl/kinds/__init__.py` (and its `reads` class, if
   any, among `RealmState`'s bases there); the engine, gather, the ordering (a topological sort of
   `depends_on`), plan rendering, `export` and the generic core tests (tests/core) pick it up from
   there. tests/engine/test_new_kind.py shows a kind defined in a test and registered with
   `registered()` being planned, applied, exported and deleted.
3. Add its spec section to `schemas/realmctl.schema.json`, and a fixture case to tests/core.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from realmctl.calls import Call, Ref
from realmctl.fingerprint import same_secret
from realmctl.keycloak.session import seg
from realmctl.live import OWNED_MARKER, Ids, Reader
from realmctl.plan import Change, FieldChange, Key, Live, Resource, display_path, field_changes
from realmctl.planned import PlannedView, merge
from realmctl.spec.model import Position, Spec

if TYPE_CHECKING:
    from realmctl.kinds import RealmState
    from realmctl.kinds.inverse import RealmExport


class Context:
    """What compiling one realm needs: the spec (for positions) and the realm's live state."""

    def __init__(
        self,
        spec: Spec,
        realm: str,
        state: RealmState,
        realm_spec: dict[str, Any] | None = None,
        resend_secrets: bool = False,
    ) -> None:
        self.spec = spec
        #: Send masked secrets (IdP client secrets) again even where their fingerprint matches.
        self.resend_secrets = resend_secrets
        self.realm = realm
        self.state = state
        self.realm_spec: dict[str, Any] = spec.realms.get(realm, {}) if realm_spec is None else realm_spec
        self.errors: list[str] = []
        #: One `FieldPositions` per spec entry: the 25,000 grants of 5x L come from a few entries.
        self._field_positions: dict[tuple[str | int, ...], FieldPositions] = {}

    def where(self, *path: str | int) -> Any:
        return self.spec.where("realms", self.realm, *path)

    def resource(self, kind: str, key: Key, fields: dict[str, Any], *path: str | int, **extra: Any) -> Resource:
        full = ("realms", self.realm, *path)
        positions = self._field_positions.get(full)
        if positions is None:
            positions = self._field_positions.setdefault(full, FieldPositions(self.spec, full))
        return Resource(
            self.realm,
            kind,
            key,
            fields,
            position=self.where(*path),
            value_position=self.spec.value_at(*full),
            field_positions=positions,
            **extra,
        )


class FieldPositions(Mapping[str, Position]):
    """`field_positions` of one spec entry, worked out when first asked (plan output asks only for
    the objects that change): a dict of them per object was ~10 MB at 5x L (12,500 users, 25,000
    grants) and a walk of the object's spec node each, for a plan that changes nothing."""

    __slots__ = ("_found", "_path", "_spec")

    def __init__(self, spec: Spec, path: tuple[str | int, ...]) -> None:
        self._spec = spec
        self._path = path
        self._found: dict[str, Position] | None = None

    def _positions(self) -> dict[str, Position]:
        if self._found is None:
            self._found = field_positions(self._spec, self._path)
        return self._found

    def __getitem__(self, name: str) -> Position:
        return self._positions()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())

    def __copy__(self) -> FieldPositions:
        return self

    def __deepcopy__(self, memo: Any) -> FieldPositions:
        return self  # read-only; a copy would copy the whole spec


def field_positions(spec: Spec, path: tuple[str | int, ...]) -> dict[str, Position]:
    """Value positions of an object's declared fields by the plan's field names, where the spec key
    is the Keycloak field (`secret`, `rootUrl`, `config.clientSecret`, `attributes[a.b]`); fields
    the kinds rename or derive have none and are found through the object's own `source`."""
    node: Any = {"realms": spec.realms}
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    out: dict[str, Position] = {}
    for name, value in (node or {}).items() if isinstance(node, dict) else ():
        if (at := spec.value_at(*path, name)) is not None:
            out[name] = at
        if name in ("config", "attributes") and isinstance(value, dict):
            for inner in value:
                if (at := spec.value_at(*path, name, inner)) is not None:
                    out[display_path([name, inner])] = at
    return out


class Kind:
    """Base of every kind. `depends_on` names the kinds whose creates and updates must run first
    (deletes run in reverse); the registry sorts the kinds topologically by it.

    `recorded` kinds also note the keys of what realmctl creates in the realm's record, with the
    server ids of the object (or of a link's two ends), as `record_ids` names them (refs where they
    are made in the same run): ownership follows identity, never a name alone (`RealmState.owns`).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    depends_on: ClassVar[tuple[str, ...]] = ()
    #: The kind's bulk reads: a `Reader` subclass in the kind's file, which the registry composes
    #: into `RealmState` (a kind that reads nothing of its own keeps `Reader`).
    reads: ClassVar[type[Reader]] = Reader
    #: `realmctl export`: the `--kinds` name that selects the kind's `export` (None: the kind writes
    #: nothing of its own), whether the default set holds it, and the realm spec key it writes first
    #: (the export runs the kinds in the order the spec's schema lists those keys).
    export_as: ClassVar[str | None] = None
    export_default: ClassVar[bool] = True
    export_section: ClassVar[str | None] = None
    link: ClassVar[bool] = False
    recorded: ClassVar[bool] = False

    def record_key(self, key: Key) -> tuple[str, ...]:
        return (self.name, *key)

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        """The server ids a create of a recorded kind writes into the record (refs where the object
        or an end is made in this run); None: not known, the entry is written with names only."""
        return None

    def export(self, ex: RealmExport) -> None:
        """The inverse of `desired`: writes the kind's live objects into `ex.spec` in the spec's
        friendly names, so that a plan of the export finds nothing to change. A kind whose objects
        another kind's section holds (a scope's mappers, a client's scope attachments) writes none."""

    def prepare(self, ctx: Context) -> None:
        """The reads `desired` consults (through `ctx.state`), made by gather before compiling:
        `desired` itself runs with the readers detached, so a read it makes that `prepare` did not
        raises `UndeclaredRead`. Most kinds compile from the spec alone and read nothing here."""

    def desired(self, ctx: Context) -> list[Resource]:
        """The spec's objects of this kind: compiled from the spec and what `prepare` read (pure)."""
        raise NotImplementedError

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        """Live objects for the wanted keys, plus every owned object of the kind (for deletion)."""
        raise NotImplementedError

    def read_for_calls(self, ctx: Context, creates: list[Key], deletes: list[Key]) -> None:
        """The reads the calls of the plan's creates and deletes of this kind consult beyond what
        `read` made (gather calls it after `read`; diff builds the calls detached). Default: none."""

    def secret_path(self, name: str) -> str:
        """How a secret field is named in plan output."""
        return name

    def compare(self, resource: Resource, live: Live) -> list[FieldChange]:
        """Field changes; secrets are compared by the kind and reported without values."""
        changes = field_changes(live.fields, resource.fields)
        for name, value in resource.secrets.items():
            if not same_secret(live.secrets.get(name), value):
                changes.append(FieldChange(self.secret_path(name), None, None, sensitive=True))
        return changes

    def calls(self, change: Change, b: Build) -> list[Call]:
        """The requests that perform `change`, built from the snapshot (no server)."""
        raise NotImplementedError

    def assume(self, change: Change) -> Live | None:
        """The live object as it is once `change` is applied (None: gone), computed in memory.

        The core tests apply a plan to its own snapshot with it and expect an empty plan, so it
        must agree with `compare`: a kind whose update replaces a map whole, or whose secrets are
        kept as fingerprints, overrides it.
        """
        if change.action == "delete" or change.resource is None:
            return None
        resource = change.resource
        if change.live is None:
            return Live(change.key, copy.deepcopy(resource.fields), owned=True, secrets=dict(resource.secrets))
        live = change.live
        secrets = {**live.secrets, **resource.secrets}
        return Live(change.key, merge(live.fields, resource.fields), live.id, live.owned, live.owner, secrets, live.raw)

    def builtin(self, realm: str, key: Key) -> bool:
        """Whether the object is one Keycloak itself needs (never deleted, whatever a marker says)."""
        return False

    def simulate(self, view: PlannedView, change: Change) -> None:
        """Applies `change` to the in-memory planned view `check` reasons over (no server). Kinds
        whose objects no chain rule reads keep this default and leave the view as it is."""

    def describe(self, key: Key) -> str:
        """How the object is named in plan output."""
        return f"{self.title} {'/'.join(key)}"


class Build:
    """What building a change's calls may consult: the snapshot's readers (their caches: every
    answer gather had) and the plan's other changes. An object the snapshot lacks is referred to
    by a `Ref` that its create in this run answers; ids the snapshot holds are written as they are.
    """

    def __init__(self, states: Mapping[str, RealmState], changes: list[Change]) -> None:
        self.states = states
        self.changes = changes
        self._creates = {(c.realm, c.kind, c.key) for c in changes if c.action == "create"}
        #: Listings of new realms that built-ins are found in, by realm (see `resolving_reads`).
        self.needs: dict[str, set[tuple[str, ...]]] = {}
        self._by_kind: dict[tuple[str, str], list[Change]] = {}
        for c in changes:
            self._by_kind.setdefault((c.realm, c.kind), []).append(c)
        self._memo: dict[tuple[str, ...], Any] = {}
        self._bases: dict[str, str] = {}
        self._user_refs: dict[tuple[str, ...], Ref] = {}

    def of_kind(self, realm: str, kind: str) -> list[Change]:
        """The plan's changes of `kind` in `realm`, in plan order."""
        return self._by_kind.get((realm, kind), [])

    def once(self, key: tuple[str, ...], find: Callable[[], Any]) -> Any:
        """Ids found once per build: a plan of thousands of grants asks for the same few roles."""
        if key not in self._memo:
            self._memo[key] = find()
        return self._memo[key]

    def base(self, realm: str) -> str:
        """The realm's admin path, one string per realm: every call's path starts with it (80,000
        copies at 5x L when built per call)."""
        found = self._bases.get(realm)
        if found is None:
            found = self._bases[realm] = f"admin/realms/{seg(realm)}"
        return found

    def state(self, realm: str) -> RealmState:
        return self.states[realm]

    def creates(self, realm: str, kind: str, key: Key) -> bool:
        """Whether the plan creates (kind, key) in `realm`."""
        return (realm, kind, key) in self._creates

    def new_realm(self, realm: str) -> bool:
        """Whether the plan creates `realm` (its built-ins exist only once it is created)."""
        return self.creates(realm, "realm", (realm,))

    def _listed(self, realm: str, listing: str, field: str, value: str) -> Ref:
        """A built-in of a realm this run creates: found in a listing its create's change reads
        (`resolving_reads`), by natural key."""
        self.needs.setdefault(realm, set()).add((listing,))
        return Ref((listing, realm), (f"{field}={value}", "id"))

    def client(self, realm: str, client_id: str) -> Any:
        """A client's uuid, or the ref its create answers."""
        return self.once(("client", realm, client_id), lambda: self._client(realm, client_id))

    def _client(self, realm: str, client_id: str) -> Any:
        state = self.states.get(realm)
        found = state.client(client_id) if state is not None else None
        if found:
            return found["id"]
        if self.new_realm(realm) and not self.creates(realm, "client", (client_id,)):
            return self._listed(realm, "clients", "clientId", client_id)
        return Ref(("client", realm, client_id))

    def scope(self, realm: str, name: str) -> Any:
        found = self.states[realm].scope(name) if realm in self.states else None
        if found:
            return found["id"]
        if self.new_realm(realm) and not self.creates(realm, "client-scope", (name,)):
            return self._listed(realm, "client-scopes", "name", name)
        return Ref(("client-scope", realm, name))

    def group(self, realm: str, name: str) -> Any:
        found = self.states[realm].group(name) if realm in self.states else None
        return found["id"] if found else Ref(("group", realm, name))

    def user(self, realm: str, username: str) -> Any:
        name = username.lower()
        if self.creates(realm, "user", (name,)):
            return self.user_ref(realm, name)
        found = self.states[realm].users([name]).get(name) if realm in self.states else None
        return found["id"] if found else self.user_ref(realm, name)

    def user_ref(self, realm: str, name: str) -> Ref:
        """The ref a new user's create answers, one per user: its create's `sets`, its record entry
        and each of its grants name it (~50,000 refs at 5x L when built per use)."""
        of = ("user", realm, name)
        found = self._user_refs.get(of)
        if found is None:
            found = self._user_refs[of] = Ref(of)
        return found

    def role(self, realm: str, container: str, name: str) -> Any:
        """A role's id: Keycloak's role mappings want it beside the name."""
        return self.once(("role", realm, container, name), lambda: self._role(realm, container, name))

    def _role(self, realm: str, container: str, name: str) -> Any:
        state = self.states.get(realm)
        if state is not None and (container == "realm" or state.client(container) is not None):
            found = state.role(container, name)
            if found is not None:
                return found["id"]
        if self.new_realm(realm) and not self.creates(realm, "role", (container, name)):
            if container == "realm":
                return self._listed(realm, "roles", "name", name)
            if not self.creates(realm, "client", (container,)):
                self.client(realm, container)  # the client's id, from the clients listing
                self.needs.setdefault(realm, set()).add(("client-roles", container))
                return Ref(("client-roles", realm, container), (f"name={name}", "id"))
        return Ref(("role", realm, container, name), ("id",))

    def resolving_reads(self, realm: str) -> list[Call]:
        """The listings the built-ins of a new realm are found in, read once after its create."""
        out = []
        needs = self.needs.get(realm, set())
        for listing in ("clients", "client-scopes", "roles"):
            if (listing,) in needs:
                out.append(Call("GET", (self.base(realm), listing), sets=(listing, realm)))
        for _, client_id in sorted(n for n in needs if n[0] == "client-roles"):
            path = (self.base(realm), "clients", self.client(realm, client_id), "roles")
            out.append(Call("GET", path, sets=("client-roles", realm, client_id)))
        return out

    def idp_id(self, realm: str, alias: str) -> Any:
        """An identity provider's internal id (the record's identity of it), or a ref answered by
        the GET of a provider this run creates (its create's Location names the alias)."""
        found = self.states[realm].idp(alias) if realm in self.states else None
        if found is not None:
            return found.get("internalId") or alias
        return Ref(("identity-provider", realm, alias), ("internalId",))

    def read_idp(self, realm: str, alias: str) -> list[Call]:
        """The GET answering `idp_id`'s ref, where the snapshot does not hold the provider."""
        if realm in self.states and self.states[realm].idp(alias) is not None:
            return []
        path = (self.base(realm), "identity-provider", "instances", seg(alias))
        return [Call("GET", path, sets=("identity-provider", realm, alias))]


def is_owned(attributes: dict[str, Any] | None) -> bool:
    """Whether an attribute/config map carries realmctl's ownership marker."""
    value = (attributes or {}).get(OWNED_MARKER)
    if isinstance(value, list):
        value = value[0] if value else None
    return value == "true"


class LinkKind(Kind):
    """A link between two objects (a scope attachment, a scope mapping, a role grant).

    Links carry no marker of their own; realmctl records the ones it added in a realm attribute,
    with the ids of both ends, and removes a link only when it is recorded there for the same ends
    (not for namesakes made by hand after a deletion) and has left the spec.
    """

    link = True
    recorded = True

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        """The live link's fields, or None when the link does not exist."""
        raise NotImplementedError

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        """The ids of a present link's two ends, from the reads `present` made (no new request)."""
        raise NotImplementedError

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        recorded = set(ctx.state.recorded(self.name))
        keys = {r.key for r in wanted} | recorded
        out = []
        for key in sorted(keys):
            fields = self.present(ctx, key)
            owned = False
            if key in recorded:
                owned = ctx.state.owns(self.name, key, None if fields is None else self.live_ids(ctx, key))
            if fields is not None:
                out.append(Live(key, fields, owned=owned))
        return out


def read_role(ctx: Context, container: str, role: str) -> None:
    """Reads the listing a role's id is found in (`Build.role`), when its container exists."""
    if container == "realm" or ctx.state.client(container) is not None:
        ctx.state.role(container, role)

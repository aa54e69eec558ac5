"""Gather: the run's reads of the live server, each made once, into one snapshot.

Every kind declares what it reads through `Kind.read` (over the realm's `RealmState`, which keeps
the single-flight, bulk and user look-up strategies); `gather` performs those reads for every
(realm, kind) concurrently, bounded by the Api's parallelism, and hands back a `Snapshot`: the live
objects per realm and kind, the desired resources they were read for, and the per-realm readers
whose caches hold every answer. Plan (diff), check and export read the snapshot; `check` after a
plan in the same run asks the server only what the plan did not already read.
"""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType

from realmctl import ownership
from realmctl.chains import v1_chain_without_broker
from realmctl.compile import expand
from realmctl.keycloak.session import Api
from realmctl.kinds import KINDS, RealmState
from realmctl.kinds.base import Context, Kind
from realmctl.plan import Live, Resource
from realmctl.spec.model import Spec

Unit = tuple[str, str]  # (realm, kind name)


@dataclass(frozen=True)
class Snapshot:
    """What gather read and what it was read for; the mappings are read-only views.

    `states` are the realms' readers: later stages (check, the executor) ask them for what the plan
    did not need, and get every answer the plan already had from their cache, never from the server.
    """

    states: Mapping[str, RealmState]
    wanted: Mapping[Unit, tuple[Resource, ...]]
    lives: Mapping[Unit, tuple[Live, ...]]
    errors: tuple[str, ...]
    notes: tuple[str, ...] = ()  # which variant of each chain compile chose, and why
    warnings: tuple[str, ...] = ()

    def live(self, realm: str, kind: str) -> tuple[Live, ...]:
        return self.lives.get((realm, kind), ())

    def seen(self) -> list[tuple[str, str, Live]]:
        """Every live object read, as (realm, kind, live): the input of the live digest."""
        return [(realm, kind, live) for (realm, kind), lives in self.lives.items() for live in lives]


def _read_unit(kind: Kind, ctx: Context) -> tuple[list[Resource], list[Live]]:
    wanted = kind.desired(ctx)
    lives = {live.key: live for live in kind.read(ctx, wanted)}
    ownership.settle(kind, ctx, wanted, lives)  # another owner's objects: not this spec's to delete
    return wanted, list(lives.values())


def gather(spec: Spec, api: Api, resend_secrets: bool = False) -> Snapshot:
    """Reads, once each and concurrently, what every kind of every realm of the spec declares."""
    states = {realm: RealmState(api, realm, owner=spec.owner) for realm in spec.realms}
    if getattr(api, "read_strategy", "listings") == "export":  # one partial export per realm fills the listings' caches
        from realmctl.export_read import prime

        with ThreadPoolExecutor(max(1, min(api.parallelism, len(states)))) as pool:
            list(pool.map(prime, states.values()))
    expanded = expand(spec, states, api.serverinfo, api.settings.url)
    contexts = {
        realm: Context(spec, realm, state, expanded.realms[realm], resend_secrets=resend_secrets)
        for realm, state in states.items()
    }
    units = [(kind, contexts[realm]) for realm in states for kind in KINDS]
    with ThreadPoolExecutor(max(1, api.parallelism)) as pool:
        results = list(pool.map(lambda unit: _read_unit(*unit), units))
    wanted: dict[Unit, tuple[Resource, ...]] = {}
    lives: dict[Unit, tuple[Live, ...]] = {}
    for (kind, ctx), (want, live) in zip(units, results, strict=True):
        wanted[(ctx.realm, kind.name)] = tuple(want)
        lives[(ctx.realm, kind.name)] = tuple(live)
    errors = tuple(expanded.errors) + tuple(e for ctx in contexts.values() for e in ctx.errors)
    # After the reads: a hand-wired v1 chain in a realm without `broker` client, from the reads' cache.
    errors += tuple(e for r, s in states.items() if (e := v1_chain_without_broker(r, spec.realms[r], s)))
    return Snapshot(
        MappingProxyType(states),
        MappingProxyType(wanted),
        MappingProxyType(lives),
        errors,
        tuple(expanded.notes),
        tuple(expanded.warnings),
    )


__all__ = ["Snapshot", "gather"]

"""Gather: the run's reads of the live server, each made once, into one snapshot.

Every kind declares what it reads: `Kind.prepare` (what its `desired` consults), `Kind.read` (its
live objects) and `Kind.read_for_calls` (what the calls of its changes consult), over the
realm's `RealmState`, which keeps the single-flight, bulk and user look-up strategies. `gather`
performs those reads for every (realm, kind) concurrently, bounded by the Api's parallelism, and
runs compile in between with the readers detached (`detached`: no request can be sent, a read not
made raises `UndeclaredRead`). It hands back a `Snapshot`: the live objects per realm and kind,
the desired resources they were read for, and the per-realm readers whose caches hold every answer.
Diff (realmctl.diff) runs detached too; `check` after a plan in the same run asks the server only
what the plan did not already read.
"""

import contextlib
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType

from realmctl import ownership
from realmctl.chains import v1_chain_without_broker
from realmctl.compile import expand, needs_serverinfo
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


def _read_unit(kind: Kind, ctx: Context, wanted: list[Resource]) -> list[Live]:
    lives = {live.key: live for live in kind.read(ctx, wanted)}
    ownership.settle(kind, ctx, wanted, lives)  # another owner's objects: not this spec's to delete
    declared = {r.key for r in wanted}
    creates = [r.key for r in wanted if r.key not in lives]
    deletes = [key for key, live in lives.items() if live.owned and key not in declared]
    kind.read_for_calls(ctx, creates, deletes)
    return list(lives.values())


def _compile_reads(state: RealmState) -> None:
    """What compile's expansion of exchange entries consults: the realm's clients and IdPs (the
    client and IdP kinds read both lists anyway, so reading them first costs no request)."""
    state.clients()
    state.idps()


def gather(spec: Spec, api: Api, resend_secrets: bool = False) -> Snapshot:
    """Reads, once each and concurrently, what every kind of every realm of the spec declares.

    Compile runs in between, with the readers detached: first the reads it declares (serverinfo
    when exchange or stored tokens need it, the realms' clients and IdPs, each kind's `prepare`),
    then the expansion and every kind's `desired` from those answers alone, then the kinds' reads
    of the live objects for what was compiled.
    """
    states = {realm: RealmState(api, realm, owner=spec.owner) for realm in spec.realms}
    if getattr(api, "read_strategy", "listings") == "export":  # one partial export per realm fills the listings' caches
        from realmctl.export_read import prime

        with ThreadPoolExecutor(max(1, min(api.parallelism, len(states)))) as pool:
            list(pool.map(prime, states.values()))
    info = api.serverinfo() if needs_serverinfo(spec) else {}
    with ThreadPoolExecutor(max(1, api.parallelism)) as pool:
        list(pool.map(_compile_reads, states.values()))
        with detached(states):
            expanded = expand(spec, states, lambda: info, api.settings.url)
        contexts = {
            realm: Context(spec, realm, state, expanded.realms[realm], resend_secrets=resend_secrets)
            for realm, state in states.items()
        }
        units = [(kind, contexts[realm]) for realm in states for kind in KINDS]
        list(pool.map(lambda unit: unit[0].prepare(unit[1]), units))
        with detached(states):
            desired = list(pool.map(lambda unit: unit[0].desired(unit[1]), units))
        compiled = [(kind, ctx, want) for (kind, ctx), want in zip(units, desired, strict=True)]
        results = list(pool.map(lambda unit: _read_unit(*unit), compiled))
    wanted: dict[Unit, tuple[Resource, ...]] = {}
    lives: dict[Unit, tuple[Live, ...]] = {}
    for (kind, ctx), want, live in zip(units, desired, results, strict=True):
        wanted[(ctx.realm, kind.name)] = tuple(want)
        lives[(ctx.realm, kind.name)] = tuple(live)
    errors = tuple(expanded.errors) + tuple(e for ctx in contexts.values() for e in ctx.errors)
    # After the reads: a hand-wired v1 chain in a realm without `broker` client, from the reads' cache.
    with detached(states):
        errors += tuple(e for r, s in states.items() if (e := v1_chain_without_broker(r, spec.realms[r], s)))
    return Snapshot(
        MappingProxyType(states),
        MappingProxyType(wanted),
        MappingProxyType(lives),
        errors,
        tuple(expanded.notes),
        tuple(expanded.warnings),
    )


@contextlib.contextmanager
def detached(states: Mapping[str, RealmState]) -> Iterator[None]:
    """Compile (within gather, between its reads) and diff with the calls' build run inside this:
    every reader answers from what gather read, and a read not made raises `UndeclaredRead`."""
    with contextlib.ExitStack() as stack:
        for state in states.values():
            stack.enter_context(state.detached())
        yield


__all__ = ["Snapshot", "detached", "gather"]

"""realmctl's ownership record of a realm (the realm attribute `realmctl.links`), as a change.

The record says which links (and, for named owners, which objects) realmctl made in the realm, with
their ids. Writing it is part of what an apply does, so the plan shows it: one update per realm
with other changes, counted like them, whose call adds the entries of what the plan creates, drops
those of what it deletes, and applies the fixes the reads found (entries of objects that are gone,
names-only entries upgraded to ids). The engine builds it (`realmctl.diff.record_changes`) after
every other change; nothing in a spec declares it.
"""

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, Kind
from realmctl.plan import Change, Key, Live, Resource


class RecordKind(Kind):
    name = "ownership-record"
    title = "ownership record"
    # After every other kind (set in realmctl.kinds when the registry is built).

    def describe(self, key: Key) -> str:
        return "realmctl's ownership record (realm attribute realmctl.links)"

    def desired(self, ctx: Context) -> list[Resource]:
        return []

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        return []

    def calls(self, change: Change, b: Build) -> list[Call]:
        return list(change.calls)  # built with the change, from the whole plan

"""A kind's field table is the one list of the fields it manages (issue #16 item 2): compile
(`desired`) writes through it, export reads back through it, and the schema and docs/spec.md must
offer every name in it. A field added to a table but not to the schema would be refused by
`validate` before any plan; one missing from the docs would be a field nobody knows about.
"""

from pathlib import Path
from typing import Any

import pytest

from realmctl.kinds import client, client_scope, idp, realm, user
from realmctl.schema import load_schema

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "spec.md").read_text()

#: (realm spec section or None for the realm's own fields, the friendly names of a kind's table)
TABLES = {
    "realm": (None, list(realm.FIELDS)),
    "client": ("clients", [*client.FIELDS, *client.ATTRIBUTES]),
    "identity-provider": ("identityProviders", list(idp.FIELDS)),
    "client-scope": ("clientScopes", list(client_scope.ATTRIBUTES)),
    "user": ("users", list(user.FIELDS)),
}


def section_properties(section: str | None) -> dict[str, Any]:
    realm_schema: dict[str, Any] = load_schema()["properties"]["realms"]["additionalProperties"]
    if section is None:
        props: dict[str, Any] = realm_schema["properties"]
        return props
    entry: dict[str, Any] = realm_schema["properties"][section]["additionalProperties"]["properties"]
    return entry


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_every_field_of_a_kinds_table_is_in_the_schema_and_the_docs(kind: str) -> None:
    section, names = TABLES[kind]
    props = section_properties(section)
    assert [n for n in names if n not in props] == [], f"schema section {section} lacks fields of kind {kind}"
    assert [n for n in names if f"`{n}`" not in DOCS and f"{n}:" not in DOCS] == []

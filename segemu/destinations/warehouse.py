"""The data warehouse destination: the rows Segment would load into a warehouse (Redshift,
Postgres, Snowflake, BigQuery) for each event, in Segment's warehouse schema
(segment-docs connections/storage/warehouses/schema.md).

Each action takes the whole event (`{"@path": "$."}`) and returns one request per table row:

    {"action": "tracks", "method": "INSERT", "url": "warehouse://<schema>.<table>",
     "headers": {}, "body": {<column>: <value>, ...}}

`method` is UPSERT for the tables that hold the latest state of a user or group (`users`, and
`accounts` when enabled), keyed on `id`. Values are typed as the warehouse holds them: numbers
and booleans as numbers and booleans, strings as strings, and timestamp columns as ISO-8601
text in UTC. The naming rules are in warehouse_naming.py, the rows in warehouse_rows.py.

Settings:
- `schema`: the schema the rows go to. By default it is derived from the source's name, the way
  the Segment app fills in a new source's schema name (warehouse_naming.schema_name). The name
  is the `source` setting, which the destination engine fills in with the name of the source
  an event came from; a source named "default" (segemu's catch-all) gives `_default`, because
  DEFAULT is a reserved word.
- `warehouse_id`: this warehouse's id, for `integrations.Warehouses.warehouseIds`.
- `accounts`: also upsert group calls into `accounts`, which Segment documents as a beta table.
- `profiles_sync` (default true): also load Profiles Sync's identity tables (id_graph_updates,
  external_id_mapping_updates, profile_traits_updates, user_identifiers, user_traits,
  profile_merges) from each call's identity outcome, into `profiles_schema` (default: the
  space's name), as segemu/destinations/profiles_sync.py describes.

Routing: warehouses don't take a name of their own in the integrations object. They are
controlled by its `Warehouses` key (connections/storage/warehouses/faq.md):
`{"All": true, "Warehouses": {"all": false}}` sends to no warehouse,
`{"All": false, "Warehouses": {"all": true}}` to all of them, and
`{"Warehouses": {"warehouseIds": [...]}}` to the ones listed. The preset's alias is therefore
`Warehouses`, and its build functions apply these options themselves, so the preset answers
the same when it is run directly. Selective Sync (warehouse-syncs.md), the per-warehouse choice
of collections and properties, is not emulated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from segemu.destinations.base import Action, Build, Preset, Request
from segemu.destinations.profiles_sync import profiles_schema, profiles_sync_rows
from segemu.destinations.warehouse_naming import DEFAULT_SCHEMA_SOURCE, schema_name
from segemu.destinations.warehouse_rows import (
    Row,
    alias_rows,
    group_rows,
    identify_rows,
    page_rows,
    screen_rows,
    track_rows,
)
from segemu.message import format_timestamp

URL_SCHEME: Final = "warehouse://"
DEFAULT_WAREHOUSE_ID: Final = "warehouse"
_SETTING_TYPES: Final[dict[str, type]] = {
    "schema": str,
    "source": str,
    "warehouse_id": str,
    "accounts": bool,
    "profiles_sync": bool,
    "profiles_schema": str,
}

RowsOf = Callable[[Mapping[str, Any], str, Mapping[str, Any]], list[Row]]


def warehouses_enabled(integrations: Any, settings: Mapping[str, Any]) -> bool:
    """Whether the integrations object lets the event reach this warehouse (faq.md)."""
    if not isinstance(integrations, dict):
        return True
    option = integrations.get("Warehouses")
    if option is None:
        # `All: false` blocks every destination "except data warehouses" (DOCS
        # guides/filtering-data.md); only the `Warehouses` key turns them off.
        return True
    if isinstance(option, dict):
        chosen = option.get("warehouseIds")
        if isinstance(chosen, list):
            return str(settings.get("warehouse_id", DEFAULT_WAREHOUSE_ID)) in chosen
        return option.get("all") is not False
    return option is not False


def warehouse_schema(settings: Mapping[str, Any]) -> str:
    schema = settings.get("schema")
    if isinstance(schema, str) and schema.strip():
        # Normalized like a derived name: the faq allows lowercase and underscores only.
        return schema_name(schema)
    source = settings.get("source")
    return schema_name(source if isinstance(source, str) else DEFAULT_SCHEMA_SOURCE)


def check_settings(settings: Mapping[str, Any]) -> list[str]:
    """Problems in a warehouse destination's settings, for the config loader to report."""
    problems: list[str] = []
    for key, value in settings.items():
        wanted = _SETTING_TYPES.get(key)
        if wanted is None:
            problems.append(f"unknown setting {key!r}; known: {', '.join(_SETTING_TYPES)}")
        elif not isinstance(value, wanted):
            problems.append(f"setting {key!r} must be a {wanted.__name__}, got {value!r}")
    schema = settings.get("schema")
    if isinstance(schema, str) and schema != schema_name(schema):
        problems.append(
            f"schema {schema!r} is not a warehouse schema name (lowercase letters, "
            f"digits and underscores, not a reserved word); use "
            f"{schema_name(schema)!r}"
        )
    return problems


def _build(action: str, rows_of: RowsOf) -> Build:
    def build(fields: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
        if not warehouses_enabled(fields.get("integrations"), settings):
            return []
        schema = warehouse_schema(settings)
        loaded_at = format_timestamp(datetime.now(UTC))
        return [
            Request(
                action=action,
                method=row.method,
                url=f"{URL_SCHEME}{schema}.{row.table}",
                headers={},
                body=row.columns,
            )
            for row in rows_of(fields, loaded_at, settings)
        ]

    return build


def _profiles_sync(fields: dict[str, Any], settings: Mapping[str, Any]) -> list[Request]:
    """Profiles Sync's rows for a call that went through identity resolution (the runtime
    hands its outcome over as the setting `identity`; run_preset alone has none)."""
    identity = settings.get("identity")
    if not isinstance(identity, dict) or settings.get("profiles_sync") is False:
        return []
    if not warehouses_enabled(fields.get("integrations"), settings):
        return []
    schema = profiles_schema(identity, settings)
    source = settings.get("source")
    rows = profiles_sync_rows(
        fields,
        identity,
        format_timestamp(datetime.now(UTC)),
        source if isinstance(source, str) else None,
    )
    return [
        Request(
            action="profiles_sync",
            method=row.method,
            url=f"{URL_SCHEME}{schema}.{row.table}",
            headers={},
            body=row.columns,
        )
        for row in rows
    ]


def _action(name: str, key: str, call: str, rows_of: RowsOf) -> Action:
    return Action(
        name=name,
        subscribe=f'type = "{call}"',
        mapping={"@path": "$."},
        build=_build(key, rows_of),
        key=key,
    )


WAREHOUSE: Final = Preset(
    slug="warehouse",
    name="Data Warehouse",
    aliases=("Warehouses",),
    ignores_all=True,
    accepts_options=lambda options, settings: warehouses_enabled({"Warehouses": options}, settings),
    actions=(
        _action(
            "Track calls",
            "tracks",
            "track",
            lambda event, loaded_at, _settings: track_rows(event, loaded_at),
        ),
        _action(
            "Identify calls",
            "identifies",
            "identify",
            lambda event, loaded_at, _settings: identify_rows(event, loaded_at),
        ),
        _action(
            "Page calls",
            "pages",
            "page",
            lambda event, loaded_at, _settings: page_rows(event, loaded_at),
        ),
        _action(
            "Screen calls",
            "screens",
            "screen",
            lambda event, loaded_at, _settings: screen_rows(event, loaded_at),
        ),
        _action(
            "Group calls",
            "groups",
            "group",
            lambda event, loaded_at, settings: group_rows(
                event, loaded_at, accounts=settings.get("accounts") is True
            ),
        ),
        _action(
            "Alias calls",
            "aliases",
            "alias",
            lambda event, loaded_at, _settings: alias_rows(event, loaded_at),
        ),
        Action(
            name="Profiles Sync",
            subscribe=" or ".join(
                f'type = "{call}"'
                for call in ("track", "identify", "page", "screen", "group", "alias")
            ),
            mapping={"@path": "$."},
            build=_profiles_sync,
            key="profiles_sync",
        ),
    ),
    settings={"warehouse_id": DEFAULT_WAREHOUSE_ID, "accounts": False, "profiles_sync": True},
    reads_identity=True,
    sources=(
        "segment-docs connections/storage/warehouses/schema.md",
        "segment-docs connections/storage/warehouses/faq.md",
        "segment-docs connections/storage/warehouses/redshift-faq.md",
        "segment-docs connections/storage/catalog/redshift/index.md",
        "segment-docs connections/storage/data-lakes/comparison.md",
        "segmentio/go-snakecase snake.go",
        "segment-docs unify/profiles-sync/tables.md",
        "segment-docs unify/profiles-sync/sample-queries.md",
    ),
)


class WarehouseTables:
    """The warehouse's tables after loading the destination's requests: INSERT appends a row;
    UPSERT updates the row with the same `id` (schema.md: "updated if an existing entry exists,
    appended otherwise"). An update replaces the columns the new row carries and keeps the
    others, so `users` holds each user's latest value of every trait."""

    def __init__(self) -> None:
        # "<schema>.<table>" -> rows, in load order.
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def load(self, requests: Iterable[Request]) -> None:
        for request in requests:
            url = request["url"]
            if not url.startswith(URL_SCHEME):
                raise ValueError(f"not a warehouse request: {url!r}")
            rows = self.tables.setdefault(url.removeprefix(URL_SCHEME), [])
            body = dict(request["body"])
            if request["method"] == "UPDATE":
                where, changed = body.get("where") or {}, body.get("set") or {}
                for row in rows:
                    if all(row.get(name) == value for name, value in where.items()):
                        row.update(changed)
                continue
            if request["method"] == "UPSERT":
                existing = next((row for row in rows if row.get("id") == body.get("id")), None)
                if existing is not None:
                    existing.update(body)
                    continue
            rows.append(body)

    def table(self, name: str) -> list[dict[str, Any]]:
        """The rows of `schema.table`, or of `table` in whichever schema has it."""
        if name in self.tables:
            return self.tables[name]
        found = [
            rows for qualified, rows in self.tables.items() if qualified.partition(".")[2] == name
        ]
        if len(found) > 1:
            raise KeyError(f"table {name!r} is in several schemas; name it as schema.{name}")
        return found[0] if found else []
